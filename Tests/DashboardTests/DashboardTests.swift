import AMAGO
import Foundation
import Service
import Storage
import Testing

/// The dashboard in headless Chromium against an in-process service training a real experiment.
@Suite("Dashboard in headless Chromium", .serialized)
struct DashboardTests {
    /// A small T-Maze run: well under a second per epoch, an evaluation every epoch.
    static func tinySpecJSON(epochs: Int = 2000, name: String = "tmaze-dashboard", evaluationTimesteps: Int = 16) throws -> String {
        var s = try ExperimentSpec.recommended(for: "tmaze_passive")
        s.name = name
        s.environmentParameters = ["corridor_length": .number(4)]
        s.model.dModel = 16; s.model.layers = 1; s.model.heads = 2; s.model.dFeedForward = 32
        s.model.timestepHidden = 16; s.model.timestepOutput = 16; s.model.actorHidden = 16; s.model.criticHidden = 16
        s.schedule.epochs = epochs; s.schedule.parallelActors = 2; s.schedule.timestepsPerEpoch = 16
        s.schedule.batchesPerEpoch = 4; s.schedule.batchSize = 4; s.schedule.maxSequenceLength = 10
        s.evaluation.interval = 1; s.evaluation.timesteps = evaluationTimesteps; s.evaluation.actors = 2
        s.checkpointInterval = 2
        return String(decoding: try s.encoded(), as: UTF8.self)
    }

    /// A JavaScript string literal.
    static func js(_ text: String) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: text, options: .fragmentsAllowed), as: UTF8.self)
    }

    @Test func chartModule_unitTestsPassInChromium() throws {
        let browser = try Chromium()
        defer { browser.close() }
        let page = Seed.publicDirectory.deletingLastPathComponent()
            .appendingPathComponent("Tests/DashboardTests/JS/chart-tests.html")
        try browser.navigate(page.absoluteString)
        let results = try #require(try browser.evaluate("JSON.stringify(window.chartTestResults || null)") as? String)
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(results.utf8)) as? [[String: Any]])
        #expect(parsed.count >= 15)
        for failure in parsed where failure["ok"] as? Bool != true {
            Issue.record("chart.js: \(failure["name"] ?? "?"): \(failure["message"] ?? "")")
        }
        print("chart.js unit tests: \(parsed.filter { $0["ok"] as? Bool == true }.count)/\(parsed.count) passed")
        #expect(browser.pageErrors.isEmpty, "\(browser.pageErrors)")
    }

    @Test func dashboard_showsTrainingExperimentLive() throws {
        let (host, folder) = try Seed.host()
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = host.store
        let seeded = [
            try Seed.experiment(store, name: "tmaze-long-corridor", environment: "tmaze_passive", status: .succeeded, epochs: 60,
                                hoursAgo: 26, keys: ["val/return", "val/success_rate", "train/loss"], pointsPerEpoch: 40, seed: 3),
            try Seed.experiment(store, name: "frozen-lake-gru", environment: "meta_frozen_lake", status: .stopped, epochs: 80,
                                hoursAgo: 5, keys: ["val/return", "val/success_rate", "train/loss"], seed: 5),
            try Seed.experiment(store, name: "cartpole-baseline", environment: "stateless_cartpole", status: .failed, epochs: 40,
                                hoursAgo: 2, keys: ["val/return", "train/loss"], seed: 7),
        ]
        try host.start()
        let base = "http://127.0.0.1:\(host.port)"
        let browser = try Chromium()
        defer {
            browser.close()
            host.shutdown(gracePeriod: .seconds(2), jobDeadline: 30)
        }
        let shots = Seed.screenshotDirectory
        print("dashboard screenshots: \(shots.path)")

        // New experiment: the form is prefilled from /envs and shows the server's validation errors.
        try browser.navigate(base + "/#/new")
        try browser.waitFor("document.querySelector('[name=\"environment.name\"]')?.value === 'tmaze_passive'",
                            what: "the form prefilled with tmaze_passive's recommended spec")
        try browser.evaluate("""
            (() => { const i = document.querySelector('[name="schedule.epochs"]'); i.value = '-3';
                     i.dispatchEvent(new Event('change')); document.getElementById('create').click(); })()
            """)
        let message = try browser.waitFor("document.querySelector('.field.invalid[data-path=\"schedule.epochs\"] .field-error')?.textContent",
                                          what: "the validation error beside schedule.epochs")
        #expect((message as? String)?.contains("expected") == true)
        try browser.screenshot(to: shots.appendingPathComponent("new.png"))

        // Submit the real run through the JSON editor.
        try browser.evaluate("""
            (() => { document.querySelector('.tab[data-mode="json"]').click();
                     document.getElementById('spec-json').value = \(try Self.js(try Self.tinySpecJSON()));
                     document.getElementById('create').click(); })()
            """)
        let hash = try browser.waitFor("location.hash.startsWith('#/experiments/') && location.hash", what: "the new experiment's page")
        let id = try #require((hash as? String)?.replacingOccurrences(of: "#/experiments/", with: ""))
        #expect(try store.experiment(id: id).name == "tmaze-dashboard")

        // The experiment page draws the evaluation curve from the recorded points.
        let chart = "document.querySelector('.chart-card[data-key=\"val/return\"] .chart-box')"
        try browser.waitFor("Number(\(chart)?.dataset.points) >= 3", timeout: 60, what: "the val/return chart with 3 points")
        let drawnPoints = try #require(try browser.evaluate("Number(\(chart).dataset.points)") as? NSNumber).intValue
        let recorded = try store.series(experimentID: id, key: "val/return").pointCount
        #expect(drawnPoints >= 3 && drawnPoints <= recorded)
        let path = try #require(try browser.evaluate("\(chart).querySelector('path.chart-line')?.getAttribute('d')") as? String)
        #expect(path.filter { $0 == "L" }.count >= 2, "the line joins the points: \(path)")

        // Hovering reads out the values under the pointer.
        let readout = try browser.evaluate("""
            (() => { const svg = \(chart).querySelector('svg'); const b = svg.getBoundingClientRect();
              svg.dispatchEvent(new MouseEvent('mousemove', { clientX: b.left + b.width * 0.6, clientY: b.top + 40, bubbles: true }));
              const tip = \(chart).querySelector('.chart-tip'); return tip.hidden ? '' : tip.textContent; })()
            """) as? String
        #expect(readout?.hasPrefix("env steps") == true, "hover read-out: \(readout ?? "none")")
        try browser.waitFor("document.querySelectorAll('.checkpoints a.download').length > 0", timeout: 30, what: "a checkpoint link")
        try browser.screenshot(to: shots.appendingPathComponent("experiment.png"))

        // A point recorded now reaches the open page without a reload.
        let marker = Int(try store.series(experimentID: id, key: "val/return").lastX ?? 0) + 1
        try browser.evaluate("window.sameDocument = true")
        try store.insertMetrics([MetricPointRecord(key: "val/return", value: 0.5, environmentSteps: marker, gradientSteps: 1, epoch: 1,
                                                     wallTime: 0)], experimentID: id)
        let before = drawnPoints
        try browser.waitFor("Number(\(chart).dataset.xMax) >= \(marker) && Number(\(chart).dataset.points) > \(before)",
                            timeout: 15, what: "the inserted point on the chart")
        #expect(try browser.evaluate("window.sameDocument === true") as? Bool == true)

        // The list shows it among the seeded runs.
        try browser.evaluate("location.hash = '#/'")
        let row = "document.querySelector('tr[data-id=\"\(id)\"]')"
        try browser.waitFor("\(row)?.textContent.includes('tmaze-dashboard')", what: "the experiment in the list")
        #expect(try browser.evaluate("document.querySelectorAll('table.experiments tbody tr').length") as? NSNumber == 4)
        try browser.waitFor("\(row).dataset.status === 'running'", what: "its running status")
        try browser.screenshot(to: shots.appendingPathComponent("list.png"))

        // Compare overlays the curves of several experiments (the seeded ones share a scale).
        try browser.evaluate("location.hash = '#/compare?ids=\(seeded.joined(separator: ","))&key=val/return'")
        try browser.waitFor("document.querySelector('.compare-main .chart-box')?.dataset.series === '3'", what: "three overlaid curves")
        try browser.screenshot(to: shots.appendingPathComponent("compare.png"))
        try browser.evaluate("document.querySelector('.pick[data-id=\"\(id)\"] input').click()")
        try browser.waitFor("document.querySelector('.compare-main .chart-box')?.dataset.series === '4'", what: "the picked run's curve added")

        // A finished run: long series downsampled by the server are drawn with min/max bands.
        try browser.evaluate("location.hash = '#/experiments/\(seeded[0])'")
        try browser.waitFor("document.querySelector('details[data-group=\"train\"] summary')", what: "the train group")
        try browser.evaluate("document.querySelector('details[data-group=\"train\"]').open = true")
        try browser.waitFor("document.querySelector('.chart-card[data-key=\"train/loss\"] path.chart-band')", what: "a min/max band")
        try browser.evaluate("window.scrollTo(0, document.querySelector('section.metrics').getBoundingClientRect().top + scrollY - 64)")
        try browser.screenshot(to: shots.appendingPathComponent("experiment-finished.png"))

        // Stop from the experiment page.
        try browser.evaluate("location.hash = '#/experiments/\(id)'")
        try browser.waitFor("document.getElementById('stop')", what: "the stop button")
        try browser.evaluate("document.getElementById('stop').click()")
        let deadline = Date().addingTimeInterval(30)
        while try store.experiment(id: id).status != .stopped, Date() < deadline { usleep(50_000) }
        #expect(try store.experiment(id: id).status == .stopped)
        try browser.waitFor("document.getElementById('resume')", what: "the resume button once stopped")

        // Errors: none at all. The invalid spec was refused by validation (200), not by a 422.
        let errors = browser.pageErrors
        #expect(errors.isEmpty, "page errors: \(errors)")
    }
}
