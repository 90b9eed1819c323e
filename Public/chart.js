// SVG line charts for the dashboard: pure helpers (ticks, smoothing, scales, paths) and a
// LineChart that draws several series with min/max bands and a hover read-out.
// Loaded as a classic script: everything hangs off `AmagoChart` (and `module.exports` in node).
(function (root) {
  'use strict';

  const SVG_NS = 'http://www.w3.org/2000/svg';

  /** A "nice" step (1, 2 or 5 times a power of ten) near span / count. */
  function niceStep(span, count) {
    if (!(span > 0) || !isFinite(span)) return 1;
    const raw = span / Math.max(1, count);
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    const fraction = raw / power;
    const nice = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10;
    return nice * power;
  }

  /** About `count` evenly spaced round values inside [min, max] (at least one). */
  function niceTicks(min, max, count) {
    count = count || 5;
    if (!isFinite(min) || !isFinite(max)) return [];
    if (max < min) { const t = min; min = max; max = t; }
    if (max === min) return [min];
    const step = niceStep(max - min, count);
    const first = Math.ceil(min / step - 1e-9) * step;
    const ticks = [];
    for (let v = first; v <= max + step * 1e-9; v += step) {
      // Rounding to the step's decimals keeps 0.30000000000000004 out of labels.
      const decimals = Math.max(0, -Math.floor(Math.log10(step)) + 1);
      ticks.push(Number(v.toFixed(Math.min(decimals, 20))));
      if (ticks.length > 1000) break;
    }
    return ticks;
  }

  /**
   * Exponential moving average with debiasing (as TensorBoard's smoothing slider): the first
   * values are not pulled towards zero. Non-finite values pass through and do not update it.
   */
  function emaSmooth(values, weight) {
    if (!(weight > 0)) return values.slice();
    const w = Math.min(weight, 0.999);
    let last = 0;
    let seen = 0;
    return values.map(function (v) {
      if (v === null || !isFinite(v)) return v;
      last = last * w + (1 - w) * v;
      seen += 1;
      return last / (1 - Math.pow(w, seen));
    });
  }

  /** A linear map from [d0, d1] to [r0, r1]; a degenerate domain maps to the range's middle. */
  function linearScale(d0, d1, r0, r1) {
    const span = d1 - d0;
    const scale = function (v) {
      if (span === 0) return (r0 + r1) / 2;
      return r0 + (v - d0) / span * (r1 - r0);
    };
    scale.invert = function (p) {
      if (r1 === r0) return d0;
      return d0 + (p - r0) / (r1 - r0) * span;
    };
    scale.domain = [d0, d1];
    scale.range = [r0, r1];
    return scale;
  }

  /** The smallest and largest finite numbers of the given arrays, or null when there are none. */
  function extent(arrays) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const a of arrays) {
      for (const v of a) {
        if (v === null || !isFinite(v)) continue;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    return lo <= hi ? [lo, hi] : null;
  }

  /** Pads a value domain by `fraction` of its span (or of its magnitude when it is one value). */
  function padDomain(lo, hi, fraction) {
    if (lo === hi) {
      const pad = Math.abs(lo) * 0.1 || 1;
      return [lo - pad, hi + pad];
    }
    const pad = (hi - lo) * fraction;
    return [lo - pad, hi + pad];
  }

  function fmt(v) { return String(Math.round(v * 100) / 100); }

  /** An SVG path through the points; a non-finite y breaks the line into a new segment. */
  function buildPath(xs, ys, sx, sy) {
    let d = '';
    let pen = false;
    for (let i = 0; i < xs.length; i++) {
      const y = ys[i];
      if (y === null || !isFinite(y) || !isFinite(xs[i])) { pen = false; continue; }
      d += (pen ? 'L' : 'M') + fmt(sx(xs[i])) + ',' + fmt(sy(y));
      pen = true;
    }
    return d;
  }

  /** A closed SVG path between `lows` and `highs` (one polygon per run of finite values). */
  function bandPath(xs, lows, highs, sx, sy) {
    let d = '';
    let run = [];
    const flush = function () {
      if (run.length > 1) {
        d += 'M' + run.map(function (i) { return fmt(sx(xs[i])) + ',' + fmt(sy(highs[i])); }).join('L');
        d += 'L' + run.slice().reverse().map(function (i) { return fmt(sx(xs[i])) + ',' + fmt(sy(lows[i])); }).join('L') + 'Z';
      }
      run = [];
    };
    for (let i = 0; i < xs.length; i++) {
      const ok = [xs[i], lows[i], highs[i]].every(function (v) { return v !== null && isFinite(v); });
      if (ok) run.push(i); else flush();
    }
    flush();
    return d;
  }

  /** The index of the value in a sorted array nearest to x (-1 for an empty array). */
  function nearestIndex(sorted, x) {
    if (sorted.length === 0) return -1;
    let lo = 0;
    let hi = sorted.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid] <= x) lo = mid; else hi = mid;
    }
    return Math.abs(sorted[lo] - x) <= Math.abs(sorted[hi] - x) ? lo : hi;
  }

  /** Compact number labels: 1.2M, 35k, 0.25, 1.5e-5. */
  function formatNumber(v) {
    if (v === null || v === undefined || !isFinite(v)) return '–';
    const a = Math.abs(v);
    if (a === 0) return '0';
    if (a >= 1e9) return trim((v / 1e9).toPrecision(3)) + 'G';
    if (a >= 1e6) return trim((v / 1e6).toPrecision(3)) + 'M';
    if (a >= 1e3) return trim((v / 1e3).toPrecision(3)) + 'k';
    if (a >= 1) return trim(v.toPrecision(4));
    if (a >= 1e-3) return trim(v.toPrecision(3));
    return v.toExponential(1);
  }

  function trim(s) { return s.indexOf('e') >= 0 || s.indexOf('.') < 0 ? s : s.replace(/\.?0+$/, ''); }

  /** Seconds as "45s", "12m 5s", "3h 20m". */
  function formatDuration(seconds) {
    if (seconds === null || !isFinite(seconds)) return '–';
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return s + 's';
    if (s < 3600) return Math.floor(s / 60) + 'm' + (s % 60 ? ' ' + (s % 60) + 's' : '');
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    return h + 'h' + (m ? ' ' + m + 'm' : '');
  }

  /**
   * Adds points to a series kept sorted by x, replacing any point at the same x (live updates
   * may repeat points already fetched). Returns the number of points added.
   */
  function mergePoints(points, incoming) {
    let added = 0;
    for (const p of incoming) {
      if (!isFinite(p.x)) continue;
      const n = points.length;
      if (n === 0 || points[n - 1].x < p.x) { points.push(p); added++; continue; }
      let lo = 0;
      let hi = n;
      while (lo < hi) { const mid = (lo + hi) >> 1; if (points[mid].x < p.x) lo = mid + 1; else hi = mid; }
      if (lo < n && points[lo].x === p.x) points[lo] = p; else { points.splice(lo, 0, p); added++; }
    }
    return added;
  }

  const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777', '#4b5563', '#65a30d'];

  function el(name, attrs) {
    const node = document.createElementNS(SVG_NS, name);
    for (const k in attrs) node.setAttribute(k, attrs[k]);
    return node;
  }

  /**
   * A line chart in `container`. Series: {name, color?, points: [{x, value, min?, max?}]},
   * points sorted by x. `formatX` labels the x axis; `smoothing` is the EMA weight in [0, 1).
   */
  class LineChart {
    constructor(container, options) {
      options = options || {};
      this.container = container;
      this.height = options.height || 220;
      this.formatX = options.formatX || formatNumber;
      this.xName = options.xName || '';
      this.smoothing = options.smoothing || 0;
      this.series = [];
      this.container.classList.add('chart');
      this.svg = el('svg', { class: 'chart-svg', role: 'img' });
      this.tip = document.createElement('div');
      this.tip.className = 'chart-tip';
      this.tip.hidden = true;
      container.append(this.svg, this.tip);
      this.svg.addEventListener('mousemove', (e) => this.hover(e));
      this.svg.addEventListener('mouseleave', () => this.unhover());
    }

    /** Replaces every series and redraws. */
    setSeries(series) { this.series = series; this.render(); }

    /** Sets the smoothing weight and redraws. */
    setSmoothing(weight) { this.smoothing = weight; this.render(); }

    /** The raw point count over all series (exposed as `data-points` for tests). */
    pointCount() { return this.series.reduce(function (n, s) { return n + s.points.length; }, 0); }

    /** Draws the chart at the container's current width. */
    render() {
      const width = Math.max(200, this.container.clientWidth || 400);
      const height = this.height;
      const m = { left: 52, right: 14, top: 10, bottom: 26 };
      const svg = this.svg;
      svg.setAttribute('viewBox', '0 0 ' + width + ' ' + height);
      svg.setAttribute('width', width);
      svg.setAttribute('height', height);
      svg.textContent = '';
      this.container.dataset.points = String(this.pointCount());
      this.container.dataset.series = String(this.series.length);
      const prepared = this.series.map((s, i) => {
        const xs = s.points.map(function (p) { return p.x; });
        const raw = s.points.map(function (p) { return p.value; });
        const lows = s.points.map(function (p) { return p.min === undefined ? p.value : p.min; });
        const highs = s.points.map(function (p) { return p.max === undefined ? p.value : p.max; });
        const banded = s.points.some(function (p) { return p.min !== undefined && p.max !== undefined && p.max > p.min; });
        return { name: s.name, color: s.color || PALETTE[i % PALETTE.length], xs: xs, raw: raw,
                 smooth: emaSmooth(raw, this.smoothing), lows: lows, highs: highs, banded: banded };
      });
      const xe = extent(prepared.map(function (p) { return p.xs; }));
      this.container.dataset.xMax = xe ? String(xe[1]) : '';
      const ye = extent(prepared.map(function (p) { return p.banded ? p.lows.concat(p.highs, p.raw) : p.raw; }));
      if (!xe || !ye) {
        const t = el('text', { x: width / 2, y: height / 2, class: 'chart-empty', 'text-anchor': 'middle' });
        t.textContent = 'no points yet';
        svg.append(t);
        this.layout = null;
        this.tip.hidden = true;
        return;
      }
      const yd = padDomain(ye[0], ye[1], 0.06);
      const sx = linearScale(xe[0], xe[1], m.left, width - m.right);
      const sy = linearScale(yd[0], yd[1], height - m.bottom, m.top);
      const grid = el('g', { class: 'chart-grid' });
      for (const t of niceTicks(yd[0], yd[1], 5)) {
        const y = fmt(sy(t));
        grid.append(el('line', { x1: m.left, x2: width - m.right, y1: y, y2: y }));
        const label = el('text', { x: m.left - 6, y: y, dy: '0.32em', 'text-anchor': 'end' });
        label.textContent = formatNumber(t);
        grid.append(label);
      }
      const xTicks = niceTicks(xe[0], xe[1], Math.max(2, Math.floor((width - m.left) / 90)));
      for (const t of xTicks) {
        const x = fmt(sx(t));
        grid.append(el('line', { x1: x, x2: x, y1: height - m.bottom, y2: height - m.bottom + 4 }));
        const label = el('text', { x: x, y: height - m.bottom + 16, 'text-anchor': 'middle' });
        label.textContent = this.formatX(t);
        grid.append(label);
      }
      grid.append(el('line', { class: 'chart-axis', x1: m.left, x2: width - m.right,
                               y1: height - m.bottom, y2: height - m.bottom }));
      svg.append(grid);
      const smoothing = this.smoothing > 0;
      for (const p of prepared) {
        if (p.banded) {
          svg.append(el('path', { class: 'chart-band', d: bandPath(p.xs, p.lows, p.highs, sx, sy), fill: p.color }));
        }
        if (smoothing) svg.append(el('path', { class: 'chart-raw', d: buildPath(p.xs, p.raw, sx, sy), stroke: p.color }));
        svg.append(el('path', { class: 'chart-line', d: buildPath(p.xs, smoothing ? p.smooth : p.raw, sx, sy), stroke: p.color }));
        if (p.xs.length === 1) {
          svg.append(el('circle', { class: 'chart-dot', cx: sx(p.xs[0]), cy: sy(p.raw[0]), r: 3, fill: p.color }));
        }
      }
      this.cursor = el('g', { class: 'chart-cursor', visibility: 'hidden' });
      this.cursor.append(el('line', { y1: m.top, y2: height - m.bottom, x1: 0, x2: 0 }));
      svg.append(this.cursor);
      this.layout = { sx: sx, sy: sy, prepared: prepared, width: width };
      // A pointer resting on the chart keeps its read-out through live redraws.
      if (this.lastPointer) this.hover(this.lastPointer);
    }

    /** Shows the values of every series nearest to the pointer's x. */
    hover(event) {
      const layout = this.layout;
      this.lastPointer = { clientX: event.clientX, clientY: event.clientY };
      if (!layout) return;
      const box = this.svg.getBoundingClientRect();
      const px = (event.clientX - box.left) * (layout.width / box.width);
      const x = layout.sx.invert(px);
      let nearestX = null;
      const rows = [];
      for (const p of layout.prepared) {
        const i = nearestIndex(p.xs, x);
        if (i < 0) continue;
        if (nearestX === null || Math.abs(p.xs[i] - x) < Math.abs(nearestX - x)) nearestX = p.xs[i];
        rows.push({ p: p, i: i });
      }
      if (nearestX === null) return;
      const cx = layout.sx(nearestX);
      this.cursor.setAttribute('visibility', 'visible');
      this.cursor.firstChild.setAttribute('x1', cx);
      this.cursor.firstChild.setAttribute('x2', cx);
      while (this.cursor.childNodes.length > 1) this.cursor.lastChild.remove();
      const tip = this.tip;
      tip.textContent = '';
      const head = document.createElement('div');
      head.className = 'chart-tip-x';
      head.textContent = (this.xName ? this.xName + ' ' : '') + this.formatX(nearestX);
      tip.append(head);
      const smoothing = this.smoothing > 0;
      for (const r of rows) {
        const shown = smoothing ? r.p.smooth[r.i] : r.p.raw[r.i];
        if (shown !== null && isFinite(shown)) {
          this.cursor.append(el('circle', { cx: layout.sx(r.p.xs[r.i]), cy: layout.sy(shown), r: 3.5, fill: r.p.color }));
        }
        const row = document.createElement('div');
        const swatch = document.createElement('span');
        swatch.className = 'swatch';
        swatch.style.background = r.p.color;
        let text = (rows.length > 1 ? r.p.name + ': ' : '') + formatNumber(shown);
        if (smoothing) text += ' (raw ' + formatNumber(r.p.raw[r.i]) + ')';
        if (r.p.banded && r.p.highs[r.i] > r.p.lows[r.i]) {
          text += ' [' + formatNumber(r.p.lows[r.i]) + ' … ' + formatNumber(r.p.highs[r.i]) + ']';
        }
        row.append(swatch, document.createTextNode(text));
        tip.append(row);
      }
      tip.hidden = false;
      const left = cx / layout.width * box.width;
      const flip = left > box.width * 0.6;
      tip.style.left = flip ? '' : (left + 12) + 'px';
      tip.style.right = flip ? (box.width - left + 12) + 'px' : '';
    }

    /** Hides the read-out. */
    unhover() {
      this.lastPointer = null;
      this.tip.hidden = true;
      if (this.cursor) this.cursor.setAttribute('visibility', 'hidden');
    }
  }

  let observer = null;
  const pending = new Map();

  /** Calls `callback` once, the first time `element` comes near the viewport. */
  function whenVisible(element, callback) {
    if (typeof IntersectionObserver === 'undefined') { callback(); return; }
    if (!observer) {
      observer = new IntersectionObserver(function (entries) {
        for (const entry of entries) {
          if (!entry.isIntersecting) continue;
          const cb = pending.get(entry.target);
          pending.delete(entry.target);
          observer.unobserve(entry.target);
          if (cb) cb();
        }
      }, { rootMargin: '200px 0px' });
    }
    pending.set(element, callback);
    observer.observe(element);
  }

  /** Stops watching `element` (when a page is torn down). */
  function forget(element) {
    if (observer && pending.delete(element)) observer.unobserve(element);
  }

  const api = {
    niceStep: niceStep, niceTicks: niceTicks, emaSmooth: emaSmooth, linearScale: linearScale,
    extent: extent, padDomain: padDomain, buildPath: buildPath, bandPath: bandPath,
    nearestIndex: nearestIndex, formatNumber: formatNumber, formatDuration: formatDuration,
    mergePoints: mergePoints, LineChart: LineChart, whenVisible: whenVisible, forget: forget, PALETTE: PALETTE,
  };
  if (typeof module !== 'undefined' && module.exports) module.exports = api;
  else root.AmagoChart = api;
})(this);
