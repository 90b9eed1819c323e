// Unit tests of the chart module's pure functions. Run in a browser by chart-tests.html (results in
// `window.chartTestResults`) or with `node chart-tests.js`.
(function (root) {
  'use strict';

  function run(C) {
    const results = [];
    function test(name, body) {
      try { body(); results.push({ name: name, ok: true }); } catch (e) { results.push({ name: name, ok: false, message: String(e && e.message || e) }); }
    }
    function eq(actual, expected, what) {
      const a = JSON.stringify(actual);
      const b = JSON.stringify(expected);
      if (a !== b) throw new Error((what || 'value') + ': expected ' + b + ', got ' + a);
    }
    function near(actual, expected, tolerance, what) {
      if (!(Math.abs(actual - expected) <= tolerance)) throw new Error((what || 'value') + ': expected ' + expected + ' ± ' + tolerance + ', got ' + actual);
    }

    test('niceStep picks 1, 2 or 5 times a power of ten', function () {
      eq(C.niceStep(10, 5), 2);
      eq(C.niceStep(100, 4), 20);
      eq(C.niceStep(1, 10), 0.1);
      eq(C.niceStep(7000, 5), 1000);
      eq(C.niceStep(0, 5), 1, 'empty span');
    });
    test('niceTicks covers the range with round values inside it', function () {
      eq(C.niceTicks(0, 10, 5), [0, 2, 4, 6, 8, 10]);
      eq(C.niceTicks(0.13, 0.91, 4), [0.2, 0.4, 0.6, 0.8]);
      eq(C.niceTicks(-3, 3, 6), [-3, -2, -1, 0, 1, 2, 3]);
      eq(C.niceTicks(5, 5, 5), [5], 'one value');
      eq(C.niceTicks(10, 0, 5), [0, 2, 4, 6, 8, 10], 'reversed bounds');
      eq(C.niceTicks(NaN, 1, 5), [], 'non-finite');
    });
    test('niceTicks labels carry no floating-point noise', function () {
      for (const t of C.niceTicks(0.1, 0.7, 6)) if (String(t).length > 4) throw new Error('noisy tick ' + t);
    });
    test('emaSmooth with weight 0 returns the values', function () {
      eq(C.emaSmooth([1, 5, 3], 0), [1, 5, 3]);
    });
    test('emaSmooth is debiased: a constant series stays constant', function () {
      for (const v of C.emaSmooth([4, 4, 4, 4], 0.9)) near(v, 4, 1e-12);
    });
    test('emaSmooth matches the debiased moving average by hand', function () {
      const s = C.emaSmooth([0, 10], 0.5);
      near(s[0], 0, 1e-12, 'first');
      // EMA after 0 then 10: 0.5·0 + 0.5·10 = 5, divided by the debias factor 1 − 0.5² = 0.75
      near(s[1], 5 / 0.75, 1e-12, 'second');
    });
    test('emaSmooth passes non-finite values through without updating', function () {
      const s = C.emaSmooth([2, NaN, 2], 0.8);
      near(s[0], 2, 1e-12);
      if (!isNaN(s[1])) throw new Error('NaN should pass through');
      near(s[2], 2, 1e-12);
    });
    test('linearScale maps and inverts', function () {
      const s = C.linearScale(0, 10, 100, 200);
      eq(s(0), 100); eq(s(5), 150); eq(s(10), 200);
      eq(s.invert(175), 7.5);
      const flipped = C.linearScale(0, 1, 300, 0);
      eq(flipped(0.25), 225);
      eq(C.linearScale(3, 3, 0, 10)(3), 5, 'degenerate domain');
    });
    test('extent ignores non-finite values', function () {
      eq(C.extent([[3, NaN, 1], [null, 7]]), [1, 7]);
      eq(C.extent([[NaN]]), null);
    });
    test('padDomain widens the span or a single value', function () {
      eq(C.padDomain(0, 10, 0.1), [-1, 11]);
      eq(C.padDomain(5, 5, 0.1), [4.5, 5.5]);
      eq(C.padDomain(0, 0, 0.1), [-1, 1]);
    });
    test('buildPath draws through the points and breaks at gaps', function () {
      const id = function (v) { return v; };
      eq(C.buildPath([0, 1, 2], [5, 6, 7], id, id), 'M0,5L1,6L2,7');
      eq(C.buildPath([0, 1, 2, 3], [5, NaN, 7, 8], id, id), 'M0,5M2,7L3,8');
      eq(C.buildPath([], [], id, id), '');
    });
    test('buildPath rounds coordinates to hundredths', function () {
      const third = function (v) { return v / 3; };
      eq(C.buildPath([1], [2], third, third), 'M0.33,0.67');
    });
    test('bandPath closes a polygon between lows and highs', function () {
      const id = function (v) { return v; };
      eq(C.bandPath([0, 1], [1, 2], [3, 4], id, id), 'M0,3L1,4L1,2L0,1Z');
      eq(C.bandPath([0, 1, 2, 3, 4], [1, 1, NaN, 1, 1], [2, 2, NaN, 2, 2], id, id), 'M0,2L1,2L1,1L0,1ZM3,2L4,2L4,1L3,1Z');
    });
    test('nearestIndex finds the closest x', function () {
      const xs = [0, 10, 20, 30];
      eq(C.nearestIndex(xs, 14), 1); eq(C.nearestIndex(xs, 16), 2);
      eq(C.nearestIndex(xs, -5), 0); eq(C.nearestIndex(xs, 99), 3);
      eq(C.nearestIndex([], 1), -1);
    });
    test('formatNumber is compact', function () {
      eq(C.formatNumber(0), '0'); eq(C.formatNumber(1500000), '1.5M'); eq(C.formatNumber(25000), '25k');
      eq(C.formatNumber(1234), '1.23k'); eq(C.formatNumber(999), '999'); eq(C.formatNumber(0.25), '0.25'); eq(C.formatNumber(-3.5), '-3.5');
      eq(C.formatNumber(0.00002), '2.0e-5'); eq(C.formatNumber(null), '–'); eq(C.formatNumber(NaN), '–');
    });
    test('formatDuration shows seconds, minutes and hours', function () {
      eq(C.formatDuration(45), '45s'); eq(C.formatDuration(125), '2m 5s'); eq(C.formatDuration(120), '2m');
      eq(C.formatDuration(3 * 3600 + 20 * 60), '3h 20m'); eq(C.formatDuration(-4), '0s');
    });
    test('mergePoints appends, inserts in order and replaces same x', function () {
      const pts = [{ x: 1, value: 1 }, { x: 3, value: 3 }];
      eq(C.mergePoints(pts, [{ x: 4, value: 4 }, { x: 2, value: 2 }, { x: 3, value: 30 }]), 2);
      eq(pts.map(function (p) { return p.x; }), [1, 2, 3, 4]);
      eq(pts[2].value, 30, 'replaced');
      eq(C.mergePoints(pts, [{ x: NaN, value: 1 }]), 0, 'non-finite x');
    });
    return results;
  }

  if (typeof module !== 'undefined' && module.exports) {
    const results = run(require('../../../Public/chart.js'));
    for (const r of results) console.log((r.ok ? 'ok   ' : 'FAIL ') + r.name + (r.ok ? '' : ': ' + r.message));
    process.exitCode = results.every(function (r) { return r.ok; }) ? 0 : 1;
  } else {
    root.chartTestResults = run(root.AmagoChart);
  }
})(this);
