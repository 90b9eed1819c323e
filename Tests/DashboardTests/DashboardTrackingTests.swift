import AMAGO
import Foundation
import Service
import Storage
import Testing

/// Groups, sweeps, filters and exports in headless Chromium.
@Suite("Dashboard: groups, sweeps and filters", .serialized)
struct DashboardTrackingTests {
    /// Runs JavaScript `fetch` in the page and answers `{status, text}`.
    static func fetch(_ browser: Chromium, _ path: String, method: String = "GET", body: String? = nil) throws -> (status: Int, text: String) {
        var options = "{ method: '\(method)' }"
        if let body { options = "{ method: '\(method)', headers: { 'Content-Type': 'application/json' }, body: \(try DashboardTests.js(body)) }" }
        let answer = try #require(try browser.evaluate("""
            fetch(\(try DashboardTests.js(path)), \(options)).then(async (r) => JSON.stringify({ status: r.status, text: await r.text() }))
            """) as? String)
        let o = try #require(try JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any])
        return ((o["status"] as? NSNumber)?.intValue ?? 0, o["text"] as? String ?? "")
    }

    @Test func sweepOfThreeSeedsByTwoGammas_groupPageShowsBandAndStatistics() throws {
        let (host, folder) = try Seed.host(workers: 2)
        defer { try? FileManager.default.removeItem(at: folder) }
        try host.start()
        let base = "http://127.0.0.1:\(host.port)"
        let browser = try Chromium()
        defer {
            browser.close()
            host.shutdown(gracePeriod: .seconds(2), jobDeadline: 30)
        }
        let shots = Seed.screenshotDirectory
        try browser.navigate(base + "/#/groups")
        try browser.waitFor("document.querySelector('table.groups') && document.querySelector('.empty:not([hidden])')",
                            what: "the empty groups page")

        // The sweep goes in through the API: 3 seeds × 2 gammas of a tiny T-Maze, 3 epochs each.
        let spec = try DashboardTests.tinySpecJSON(epochs: 3, name: "gamma-dash")
        let request = "{\"group\": \"gamma-dash\", \"tags\": [\"dash\"], \"spec\": \(spec), "
            + "\"grid\": {\"seed\": [1, 2, 3], \"agent.gamma\": [0.9, 0.99]}}"
        let created = try Self.fetch(browser, "/sweeps", method: "POST", body: request)
        #expect(created.status == 201, "\(created.text)")
        let sweep = try #require(try JSONSerialization.jsonObject(with: Data(created.text.utf8)) as? [String: Any])
        let sweepID = try #require(sweep["id"] as? String)
        #expect((sweep["experiments"] as? [Any])?.count == 6)

        // The sweep's page is its group's: it follows the runs until all six have finished. The
        // curve shown is the critic loss, which differs between seeds from the first epoch (the
        // greedy evaluation return of so short a run is 0 for every seed).
        let key = "train/critic_loss"
        try browser.evaluate("location.hash = '#/sweeps/\(sweepID)?key=\(key)'")
        try browser.waitFor("document.querySelectorAll('table.members tbody tr').length === 6", what: "six runs in the table")
        try browser.waitFor("document.querySelectorAll('table.members tbody tr[data-status=\"succeeded\"]').length === 6",
                            timeout: 600, what: "all six runs succeeded")
        let members = try host.store.experiments(inGroup: "gamma-dash")
        #expect(members.count == 6 && members.allSatisfy { $0.status == .succeeded })

        // The refresh after the last run finished draws the final curves: one mean per gamma, banded.
        let box = "document.querySelector('.group-main .chart-box')"
        try browser.waitFor("document.querySelector('#main').dataset.groupReady === 'true' && \(box)?.dataset.series === '2' && "
                            + "\(box).dataset.key === '\(key)'", what: "two aggregated \(key) curves")
        let bands = try #require(try browser.evaluate("\(box).querySelectorAll('path.chart-band').length") as? NSNumber).intValue
        let series = try Self.fetch(browser, "/groups/gamma-dash/series/\(key)?points=20")
        #expect(bands == 2, "a min–max band per gamma: \(series.text)")
        let legend = try #require(try browser.evaluate("Array.from(document.querySelectorAll('.legend-item')).map((e) => e.dataset.label).join('|')")
                                  as? String)
        #expect(legend == "agent.gamma=0.9|agent.gamma=0.99", "\(legend)")
        let lines = try #require(try browser.evaluate("\(box).querySelectorAll('path.chart-line').length") as? NSNumber).intValue
        #expect(lines == 2)
        try browser.screenshot(to: shots.appendingPathComponent("group.png"))

        // The table's last / best / min / max are the store's summaries of each run's critic loss
        // (a loss: best is the min).
        let cells = try #require(try browser.evaluate("""
            JSON.stringify(Array.from(document.querySelectorAll('table.members tbody tr')).map((tr) => ({
              id: tr.dataset.id, gamma: tr.querySelector('td[data-path="agent.gamma"]').textContent,
              seed: tr.querySelector('td[data-path="seed"]').textContent,
              stats: Object.fromEntries(Array.from(tr.querySelectorAll('td[data-stat]')).map((td) => [td.dataset.stat, td.dataset.value])) })))
            """) as? String)
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(cells.utf8)) as? [[String: Any]])
        #expect(rows.count == 6)
        let summaries = try host.store.metricSummaries(experimentIDs: members.map(\.id), keys: [key, "val/return"])
        var seen: Set<String> = []
        for row in rows {
            let id = try #require(row["id"] as? String)
            let stats = try #require(row["stats"] as? [String: String])
            let summary = try #require(summaries[id]?[key], "a summary for \(id)")
            #expect(summary.count >= 3, "a point per epoch at least")
            for (stat, expected) in [("last", summary.last), ("best", summary.best), ("min", summary.min), ("max", summary.max)] {
                let shown = try #require(Double(stats[stat] ?? ""), "\(stat) of \(id): \(stats)")
                #expect(abs(shown - expected) <= 1e-9 * max(1, abs(expected)), "\(stat) of \(id): \(shown) vs \(expected)")
            }
            #expect(summary.min <= summary.last && summary.last <= summary.max && summary.best == summary.min)
            seen.insert("\(row["gamma"] ?? "")/\(row["seed"] ?? "")")
        }
        #expect(seen == ["0.9/1", "0.9/2", "0.9/3", "0.99/1", "0.99/2", "0.99/3"], "\(seen)")

        // ±std instead of min–max: still a band per curve, and it lies inside the runs' range.
        try browser.evaluate("(() => { const s = document.getElementById('group-band'); s.value = 'std'; s.dispatchEvent(new Event('change')); })()")
        try browser.waitFor("\(box).dataset.band === 'std' && \(box).querySelectorAll('path.chart-band').length === 2", what: "the ±std bands")
        #expect(try browser.evaluate("location.hash") as? String == "#/sweeps/\(sweepID)?key=train%2Fcritic_loss&band=std")

        // The groups list shows the group with its six finished runs.
        try browser.evaluate("location.hash = '#/groups'")
        try browser.waitFor("document.querySelector('table.groups tr[data-group=\"gamma-dash\"]')?.textContent.includes('6 succeeded')",
                            what: "the group in the groups list")
        try browser.screenshot(to: shots.appendingPathComponent("groups.png"))

        // Compare overlays the group as its aggregated curves.
        try browser.evaluate("location.hash = '#/compare?groups=gamma-dash&key=\(key)'")
        try browser.waitFor("document.querySelector('.compare-main .chart-box')?.dataset.series === '2' && "
                            + "document.querySelectorAll('.compare-main path.chart-band').length === 2", what: "the group's curves in compare")

        // An experiment page: group and tags, best/min/max beside the last value, CSV and export links.
        let first = members[0].id
        try browser.evaluate("location.hash = '#/experiments/\(first)'")
        try browser.waitFor("document.querySelector('.page-head a.group-link[data-group=\"gamma-dash\"]') && "
                            + "document.querySelector('.page-head a.tag[data-tag=\"dash\"]')", what: "the group link and tag")
        let card = "document.querySelector('.chart-card[data-key=\"val/return\"]')"
        try browser.waitFor("\(card)?.querySelector('.chart-meta [data-stat=\"best\"]')", what: "best beside last on the chart")
        let best = Double(try browser.evaluate("\(card).querySelector('.chart-meta [data-stat=\"best\"]').dataset.value") as? String ?? "")
        #expect(best == summaries[first]?["val/return"]?.best)
        let csvHref = try #require(try browser.evaluate("\(card).querySelector('a.csv').getAttribute('href')") as? String)
        let csv = try Self.fetch(browser, csvHref)
        #expect(csv.status == 200)
        let csvRows = csv.text.split(separator: "\r\n").map(String.init)
        #expect(csvRows.first == "env_steps,grad_steps,epoch,wall_time,value")
        #expect(csvRows.count - 1 == summaries[first]?["val/return"]?.count, "one CSV row per recorded point")
        let jsonl = try Self.fetch(browser, try #require(try browser.evaluate("document.getElementById('export-jsonl').getAttribute('href')") as? String))
        #expect(jsonl.status == 200 && jsonl.text.contains("\"val/return\""))
        #expect(try browser.evaluate("document.getElementById('export-zip').getAttribute('href')") as? String
                == "/experiments/\(first)/export?format=zip")
        try browser.screenshot(to: shots.appendingPathComponent("experiment-group.png"))
        #expect(browser.pageErrors.isEmpty, "page errors: \(browser.pageErrors)")
    }

    @Test func newExperimentForm_setsGroupAndTags_andPlacesTheirErrors() throws {
        let (host, folder) = try Seed.host(workers: 0)  // nothing trains: the test reads the record
        defer { try? FileManager.default.removeItem(at: folder) }
        try host.start()
        let browser = try Chromium()
        defer {
            browser.close()
            host.shutdown(gracePeriod: .seconds(2), jobDeadline: 10)
        }
        try browser.navigate("http://127.0.0.1:\(host.port)/#/new")
        try browser.waitFor("document.querySelector('[name=\"environment.name\"]')?.value === 'tmaze_passive' && "
                            + "document.querySelector('[name=\"tags\"]')", what: "the form with its group and tags fields")
        func fill(_ name: String, _ value: String) throws {
            try browser.evaluate("""
                (() => { const i = document.querySelector('[name="\(name)"]'); i.value = \(try DashboardTests.js(value));
                         i.dispatchEvent(new Event('change')); })()
                """)
        }
        try fill("group", "form-study")
        try fill("tags", "baseline, " + String(repeating: "x", count: 101))
        try browser.evaluate("document.getElementById('create').click()")
        let message = try browser.waitFor("document.querySelector('.field.invalid[data-path=\"tags\"] .field-error')?.textContent",
                                          what: "the second tag's error beside the tags field")
        #expect((message as? String)?.contains("100 characters") == true, "\(message)")
        #expect(try host.store.listExperiments().experiments.isEmpty, "nothing was queued")

        try fill("tags", " baseline , gamma ,, ")
        try browser.evaluate("document.getElementById('create').click()")
        let hash = try browser.waitFor("location.hash.startsWith('#/experiments/') && location.hash", what: "the new experiment's page")
        let id = try #require((hash as? String)?.replacingOccurrences(of: "#/experiments/", with: ""))
        let record = try host.store.experiment(id: id)
        #expect(record.group == "form-study" && record.tags == ["baseline", "gamma"], "\(String(describing: record.group)) \(record.tags)")
        try browser.waitFor("document.querySelector('.page-head a.group-link[data-group=\"form-study\"]') && "
                            + "document.querySelectorAll('.page-head a.tag').length === 2", what: "the group and tags on its page")
        #expect(browser.pageErrors.isEmpty, "page errors: \(browser.pageErrors)")
    }

    @Test func threeHundredExperimentsInThirtyGroups_listFiltersByTagAndGroupQuickly() throws {
        let (host, folder) = try Seed.host()
        defer { try? FileManager.default.removeItem(at: folder) }
        let environments = ["tmaze_passive", "meta_frozen_lake", "stateless_cartpole"]
        let statuses: [ExperimentStatus] = [.succeeded, .failed, .stopped]
        for i in 0..<300 {
            try Seed.experiment(host.store, name: "run-\(i)", environment: environments[i % 3], status: statuses[i % 3], epochs: 4,
                                hoursAgo: Double(300 - i) / 10, keys: ["val/return"], seed: UInt64(i + 1),
                                group: "study-\(i / 10)", tags: ["batch-\(i % 7)"] + (i % 2 == 0 ? ["even"] : []))
        }
        try host.start()
        let base = "http://127.0.0.1:\(host.port)"
        let browser = try Chromium()
        defer {
            browser.close()
            host.shutdown(gracePeriod: .seconds(2), jobDeadline: 10)
        }
        let rows = "document.querySelectorAll('table.experiments tbody tr')"
        try browser.navigate(base + "/")
        try browser.waitFor("\(rows).length === 100 && document.querySelectorAll('#filter-group option').length === 31 && "
                            + "document.querySelectorAll('#filter-tag option').length === 9", what: "100 rows and the filter choices")

        /// Picks `value` in the select `id` and answers the measured time to the filtered rows.
        func pick(_ id: String, _ value: String, expect count: Int) throws -> Double {
            try browser.evaluate("delete document.getElementById('main').dataset.filterMs")
            try browser.evaluate("""
                (() => { const s = document.getElementById('\(id)'); s.value = \(try DashboardTests.js(value)); s.dispatchEvent(new Event('change')); })()
                """)
            let ms = try browser.waitFor("document.getElementById('main').dataset.filterMs", what: "the \(id) = \(value) filter")
            #expect(try browser.evaluate("\(rows).length") as? NSNumber == NSNumber(value: count), "\(id) = \(value)")
            return Double(ms as? String ?? "") ?? .infinity
        }

        let byGroup = try pick("filter-group", "study-17", expect: 10)
        let groups = try browser.evaluate("Array.from(\(rows)).every((tr) => tr.dataset.group === 'study-17')") as? Bool
        #expect(groups == true)
        #expect(try browser.evaluate("location.hash") as? String == "#/?group=study-17")
        let byBoth = try pick("filter-tag", "even", expect: 5)
        #expect(try browser.evaluate("location.hash") as? String == "#/?group=study-17&tag=even")
        try browser.screenshot(to: Seed.screenshotDirectory.appendingPathComponent("list-filtered.png"))
        let clearGroup = try pick("filter-group", "", expect: 100)
        let byTag = try pick("filter-tag", "batch-3", expect: 43)
        let names = try #require(try browser.evaluate("Array.from(\(rows)).map((tr) => tr.querySelector('a.name').textContent).join(',')") as? String)
        #expect(names.split(separator: ",").allSatisfy { Int($0.dropFirst(4)).map { $0 % 7 == 3 } ?? false }, "\(names)")

        // The filters survive a reload from the URL, and a tag chip filters by its tag.
        try browser.navigate(base + "/?reload#/?tag=batch-3&environment=tmaze_passive")
        try browser.waitFor("\(rows).length === \((0..<300).filter { $0 % 7 == 3 && $0 % 3 == 0 }.count) && "
                            + "document.getElementById('filter-tag').value === 'batch-3'", what: "the filters from the URL")
        try browser.evaluate("document.querySelector('table.experiments a.tag[data-tag=\"even\"]').click()")
        try browser.waitFor("location.hash === '#/?environment=tmaze_passive&tag=even'", what: "the chip's tag filter")
        let search = try browser.evaluate("""
            (() => { const i = document.getElementById('filter-q'); i.value = 'run-29'; i.dispatchEvent(new Event('input')); return true; })()
            """)
        #expect(search as? Bool == true)
        try browser.waitFor("location.hash === '#/?q=run-29&environment=tmaze_passive&tag=even' && \(rows).length === "
                            + "\((0..<300).filter { String($0).hasPrefix("29") && $0 % 3 == 0 && $0 % 2 == 0 }.count)", what: "the name search")

        let slowest = [byGroup, byBoth, clearGroup, byTag].max() ?? .infinity
        print("list filters over 300 experiments in 30 groups: group \(Int(byGroup)) ms, group+tag \(Int(byBoth)) ms, "
              + "clear \(Int(clearGroup)) ms, tag \(Int(byTag)) ms")
        #expect(slowest < 300, "filtering took \(slowest) ms")
        #expect(browser.pageErrors.isEmpty, "page errors: \(browser.pageErrors)")
    }
}
