import Foundation
import Service
import Storage
import Testing

/// The dashboard with many experiments and many metric keys: it must stay quick.
@Suite("Dashboard under load", .serialized)
struct DashboardLoadTests {
    /// 300 keys: 20 evaluation, 200 training, 40 chart and 40 performance series.
    static let keys: [String] = (0..<20).map { "val/task_\($0)/return" } + (0..<200).map { "train/head_\($0)/loss" }
        + (0..<40).map { "charts/series_\($0)" } + (0..<40).map { "perf/timer_\($0)" }

    @Test func fiftyExperiments_threeHundredKeys_renderQuickly() throws {
        let (host, folder) = try Seed.host()
        defer { try? FileManager.default.removeItem(at: folder) }
        let environments = ["tmaze_passive", "meta_frozen_lake", "stateless_cartpole", "mazerunner"]
        let statuses: [ExperimentStatus] = [.succeeded, .failed, .stopped]
        for i in 0..<49 {
            try Seed.experiment(host.store, name: "sweep-\(i)", environment: environments[i % 4], status: statuses[i % 3],
                                epochs: 20, hoursAgo: Double(50 - i), keys: ["val/return", "train/loss"], seed: UInt64(i + 1))
        }
        let wide = try Seed.experiment(host.store, name: "many-keys", environment: "tmaze_passive", status: .succeeded,
                                       epochs: 100, hoursAgo: 0.5, keys: Self.keys, seed: 99)
        #expect(try host.store.metricKeys(experimentID: wide).count == 300)
        try host.start()
        let browser = try Chromium()
        defer {
            browser.close()
            host.shutdown(gracePeriod: .seconds(2), jobDeadline: 10)
        }
        let base = "http://127.0.0.1:\(host.port)"

        try browser.navigate(base + "/")
        try browser.waitFor("document.querySelectorAll('table.experiments tbody tr').length === 50", what: "50 rows")
        let listMs = try #require(try browser.evaluate("performance.getEntriesByName('amago:list')[0].startTime") as? NSNumber).doubleValue

        // A new query string makes a full navigation (a new performance timeline), not a hash change.
        try browser.navigate(base + "/?page=experiment#/experiments/\(wide)")
        try browser.waitFor("performance.getEntriesByName('amago:first-chart').length > 0", what: "the first chart")
        let firstChartMs = try #require(try browser.evaluate("performance.getEntriesByName('amago:first-chart')[0].startTime")
                                        as? NSNumber).doubleValue
        // Charts render only near the viewport: a screenful, not all 300.
        try browser.waitFor("document.querySelectorAll('.chart-box svg').length >= 2", what: "the visible charts")
        let drawn = try #require(try browser.evaluate("document.querySelectorAll('.chart-box svg').length") as? NSNumber).intValue
        let cards = try #require(try browser.evaluate("document.querySelectorAll('.chart-card').length") as? NSNumber).intValue
        #expect(drawn < 30, "only visible charts are drawn (\(drawn))")

        // Opening the 200-key group stays responsive: cards appear at once, charts as they scroll in.
        let openMs = try #require(try browser.evaluate("""
            new Promise((resolve) => { const t = performance.now(); const g = document.querySelector('details[data-group="train"]');
              g.open = true; requestAnimationFrame(() => setTimeout(() => resolve(
                document.querySelectorAll('details[data-group="train"] .chart-card').length === 200 ? performance.now() - t : -1))); })
            """) as? NSNumber).doubleValue
        #expect(openMs >= 0, "the group shows all 200 cards")
        try browser.evaluate("document.querySelector('details[data-group=\"train\"] .chart-card:nth-child(150)').scrollIntoView()")
        try browser.waitFor("document.querySelector('details[data-group=\"train\"] .chart-card:nth-child(150) svg')",
                            what: "a chart drawn once scrolled into view")
        print("dashboard load: list of 50 rendered at \(Int(listMs)) ms, first chart of 300 keys at \(Int(firstChartMs)) ms "
              + "(\(drawn) of \(cards) cards drawn), opening 200 keys took \(Int(openMs)) ms")
        #expect(listMs < 10_000 && firstChartMs < 10_000 && openMs < 10_000)
        #expect(browser.pageErrors.isEmpty, "page errors: \(browser.pageErrors)")
    }
}
