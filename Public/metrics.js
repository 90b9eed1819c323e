// The metric charts of one experiment: keys grouped by prefix, a chart per key drawn only when
// it scrolls into view, an x-axis selector, smoothing, and live points merged in.
(function () {
  'use strict';
  const { h } = Amago;
  const GROUP_ORDER = ['val', 'train', 'charts', 'perf'];
  const AXES = [['env_steps', 'Env steps'], ['grad_steps', 'Gradient steps'], ['epoch', 'Epoch'], ['wall_time', 'Wall time']];
  const MAX_POINTS = 500;

  function groupOf(key) { const i = key.indexOf('/'); return i > 0 ? key.slice(0, i) : ''; }

  function groupRank(name) { const i = GROUP_ORDER.indexOf(name); return i < 0 ? GROUP_ORDER.length : i; }

  /** Settings remembered across pages: x axis and smoothing. */
  function setting(name, fallback) {
    try { return localStorage.getItem('amago.' + name) || fallback; } catch (e) { return fallback; }
  }
  function remember(name, value) { try { localStorage.setItem('amago.' + name, value); } catch (e) { /* optional */ } }

  function axisName(axis) { const a = AXES.find(function (x) { return x[0] === axis; }); return a ? a[1].toLowerCase() : axis; }

  /** Labels for an x axis; wall time is shown as time since `origin` (seconds since 1970). */
  function axisFormatter(axis, origin) {
    if (axis === 'wall_time') return function (v) { return AmagoChart.formatDuration(v - origin); };
    return AmagoChart.formatNumber;
  }

  /**
   * The panel. `experimentID`; `origin()` gives the wall-time origin. Methods: setKeys(keys),
   * addPoints(points) for live points, poll() for incremental fetches, destroy().
   */
  class MetricPanel {
    constructor(experimentID, origin) {
      this.id = experimentID;
      this.origin = origin;
      this.axis = setting('axis', 'env_steps');
      this.smoothing = Number(setting('smoothing', '0.6'));
      this.filter = '';
      this.summaries = {};
      this.groups = new Map();  // name → {name, keys: [], details, grid, count, rendered}
      this.cards = new Map();   // key → card
      this.visible = new Set();
      this.watch = new IntersectionObserver((entries) => {
        for (const e of entries) {
          const card = e.target.__card;
          if (!card) continue;
          if (e.isIntersecting) { this.visible.add(card); if (card.dirty) this.draw(card); } else this.visible.delete(card);
        }
      });
      this.element = this.build();
    }

    build() {
      const axis = h('select', { id: 'x-axis', onchange: (e) => this.setAxis(e.target.value) },
        AXES.map((a) => h('option', { value: a[0], selected: a[0] === this.axis }, a[1])));
      const value = h('span.slider-value', this.smoothing.toFixed(2));
      const slider = h('input', { type: 'range', id: 'smoothing', min: '0', max: '0.99', step: '0.01', value: String(this.smoothing),
        oninput: (e) => { value.textContent = Number(e.target.value).toFixed(2); this.setSmoothing(Number(e.target.value)); } });
      const filter = h('input.filter', { type: 'search', placeholder: 'Filter metrics', oninput: (e) => this.setFilter(e.target.value) });
      this.modeLabel = h('span.live.muted', { title: 'how new points arrive' }, 'connecting…');
      this.groupArea = h('div.groups');
      this.emptyNote = h('p.muted.empty-metrics', 'No metrics recorded yet: charts appear after the first epoch.');
      return h('section.metrics', h('div.toolbar',
        h('label', 'X axis ', axis), h('label.smoothing', 'Smoothing ', slider, value), filter, h('div.spacer'), this.modeLabel),
      this.emptyNote, this.groupArea);
    }

    setMode(mode) {
      this.modeLabel.textContent = mode === 'stream' ? '● live' : mode === 'polling' ? '● live (polling)' : 'finished';
      this.modeLabel.dataset.mode = mode;
    }

    /** Adds keys not seen before (sorted into their groups). */
    setKeys(keys) {
      const fresh = keys.filter((k) => !this.cards.has(k) && !this.pendingKey(k));
      if (fresh.length === 0) return;
      for (const key of fresh) {
        const name = groupOf(key);
        let group = this.groups.get(name);
        if (!group) group = this.addGroup(name);
        group.keys.push(key);
      }
      for (const group of this.groups.values()) {
        group.keys.sort();
        group.count.textContent = String(group.keys.length);
        if (group.details.open) this.renderGroup(group);
      }
      this.emptyNote.hidden = this.groups.size > 0;
    }

    pendingKey(key) { const g = this.groups.get(groupOf(key)); return g ? g.keys.indexOf(key) >= 0 : false; }

    addGroup(name) {
      const count = h('span.count');
      const grid = h('div.chart-grid');
      const details = h('details.group', { dataset: { group: name || 'other' } },
        h('summary', h('span.group-name', name ? name + '/' : 'other'), count), grid);
      const group = { name: name, keys: [], details: details, grid: grid, count: count };
      details.addEventListener('toggle', () => { if (details.open) this.renderGroup(group); });
      const groups = Array.from(this.groups.values()).concat([group]);
      groups.sort((a, b) => groupRank(a.name) - groupRank(b.name) || a.name.localeCompare(b.name));
      this.groups = new Map(groups.map((g) => [g.name, g]));
      this.groupArea.replaceChildren.apply(this.groupArea, groups.map((g) => g.details));
      // Evaluation curves open by default; the rest open on demand (keys load per group).
      if (name === 'val' || name === 'charts' || groups.length === 1) details.open = true;
      return group;
    }

    /** Creates cards for the group's keys that have none (charts draw once visible). */
    renderGroup(group) {
      for (const key of group.keys) {
        if (this.cards.has(key)) continue;
        const card = this.makeCard(key);
        this.cards.set(key, card);
        group.grid.append(card.element);
      }
      const cards = group.keys.map((k) => this.cards.get(k).element);
      if (cards.some((c, i) => group.grid.children[i] !== c)) group.grid.replaceChildren.apply(group.grid, cards);
      this.applyFilter();
    }

    makeCard(key) {
      const box = h('div.chart-box');
      const meta = h('span.muted.small.chart-meta');
      const csv = h('a.csv', { href: AmagoAPI.csvPath(this.id, key, this.axis), download: '', title: 'every point of ' + key + ' as CSV' }, 'CSV');
      const title = h('div.chart-title', h('span.mono', key), h('span.chart-side', meta, csv));
      const element = h('div.chart-card', { dataset: { key: key } }, title, box);
      const card = { key: key, element: element, box: box, meta: meta, csv: csv, points: [], loaded: false,
                     loading: false, buffer: [], dirty: false, chart: null, downsampled: false };
      element.__card = card;
      AmagoChart.whenVisible(element, () => this.load(card));
      this.watch.observe(element);
      return card;
    }

    async load(card) {
      if (card.loading) return;
      card.loading = true;
      card.buffer = [];
      const axis = this.axis;
      try {
        const series = await AmagoAPI.get(AmagoAPI.seriesPath(this.id, card.key, { x: axis, max_points: String(MAX_POINTS) }));
        if (axis !== this.axis || this.destroyed) return;
        card.points = series.points.map((p) => ({ x: p.x, value: p.value, min: p.min, max: p.max, count: p.count }));
        card.downsampled = !!series.downsampled;
        card.lastX = series.last_x;
        AmagoChart.mergePoints(card.points, card.buffer);
        card.loaded = true;
        this.draw(card);
      } catch (e) {
        card.meta.textContent = 'could not load: ' + e.message;
      } finally {
        card.loading = false;
      }
    }

    draw(card) {
      if (!card.loaded) return;
      if (!card.chart) {
        card.chart = new AmagoChart.LineChart(card.box, { formatX: axisFormatter(this.axis, this.origin()), smoothing: this.smoothing });
        if (performance.getEntriesByName('amago:first-chart').length === 0) performance.mark('amago:first-chart');
      }
      card.chart.formatX = axisFormatter(this.axis, this.origin());
      card.chart.xName = axisName(this.axis);
      card.chart.smoothing = this.smoothing;
      card.chart.setSeries([{ name: card.key, points: card.points }]);
      card.dirty = false;
      this.renderMeta(card);
    }

    /** The card's read-out: the last value and, from the run's summary, best, min and max. */
    renderMeta(card) {
      const last = card.points.length ? card.points[card.points.length - 1].value : null;
      const summary = this.summaries[card.key];
      // The last value drawn (live points included), then the run's summary.
      const parts = Amago.statParts({ last: last }, ['last']);
      if (summary) parts.push(' · ', ...Amago.statParts(summary, ['best', 'min', 'max']));
      if (card.downsampled) parts.push(' · min/max bands');
      card.meta.replaceChildren.apply(card.meta, parts);
    }

    /** Per key: the run's count, last, best, min and max (from the metrics listing). */
    setSummaries(summaries) {
      this.summaries = summaries || {};
      for (const card of this.cards.values()) if (card.loaded) this.renderMeta(card);
    }

    /** Live points from the stream: merged into loaded charts, buffered for loading ones. */
    addPoints(points) {
      const byKey = new Map();
      for (const p of points) {
        if (!byKey.has(p.key)) byKey.set(p.key, []);
        const x = p[this.axis];
        if (x === undefined || x === null) continue;
        byKey.get(p.key).push({ x: x, value: p.value === null ? NaN : p.value });
      }
      this.setKeys(Array.from(byKey.keys()));
      for (const [key, incoming] of byKey) {
        const card = this.cards.get(key);
        if (!card) continue;
        if (card.loading) { card.buffer.push.apply(card.buffer, incoming); continue; }
        if (!card.loaded || AmagoChart.mergePoints(card.points, incoming) === 0) continue;
        for (const p of incoming) if (!(p.x <= card.lastX)) card.lastX = p.x;
        if (this.visible.has(card)) this.draw(card); else card.dirty = true;
      }
    }

    /**
     * Fetches new points of the visible loaded charts (when the stream is unavailable), or of
     * every loaded chart with `all` (to close the gap before a stream connected).
     */
    async poll(all) {
      const cards = Array.from(all ? this.cards.values() : this.visible).filter((c) => c.loaded && !c.loading);
      const axis = this.axis;
      await Promise.all(cards.map(async (card) => {
        const query = { x: axis };
        if (card.lastX !== null && card.lastX !== undefined) query.after = String(card.lastX);
        const series = await AmagoAPI.get(AmagoAPI.seriesPath(this.id, card.key, query));
        if (axis !== this.axis || this.destroyed) return;
        const added = AmagoChart.mergePoints(card.points, series.points.map((p) => ({ x: p.x, value: p.value })));
        if (series.last_x !== null && !(series.last_x <= card.lastX)) card.lastX = series.last_x;
        if (added > 0) this.draw(card);
      }));
    }

    setAxis(axis) {
      this.axis = axis;
      remember('axis', axis);
      for (const card of this.cards.values()) {
        card.csv.href = AmagoAPI.csvPath(this.id, card.key, axis);
        if (!card.loaded && !card.loading) continue;
        card.loaded = false;
        card.loading = false;
        this.load(card);
      }
    }

    setSmoothing(weight) {
      this.smoothing = weight;
      remember('smoothing', String(weight));
      for (const card of this.cards.values()) {
        if (!card.loaded) continue;
        if (this.visible.has(card)) this.draw(card); else card.dirty = true;
      }
    }

    setFilter(text) { this.filter = text.trim().toLowerCase(); this.applyFilter(); }

    applyFilter() {
      for (const card of this.cards.values()) card.element.hidden = !!this.filter && card.key.toLowerCase().indexOf(this.filter) < 0;
      if (!this.filter) return;
      for (const g of this.groups.values()) {
        if (!g.details.open && g.keys.some((k) => k.toLowerCase().indexOf(this.filter) >= 0)) g.details.open = true;
      }
    }

    /** Redraws visible charts at their new width. */
    resize() {
      for (const card of this.cards.values()) {
        if (!card.loaded) continue;
        if (this.visible.has(card)) this.draw(card); else card.dirty = true;
      }
    }

    destroy() {
      this.destroyed = true;
      this.watch.disconnect();
      for (const card of this.cards.values()) AmagoChart.forget(card.element);
    }
  }

  Amago.MetricPanel = MetricPanel;
  Amago.axisFormatter = axisFormatter;
  Amago.axisName = axisName;
  Amago.AXES = AXES;
  Amago.setting = setting;
  Amago.remember = remember;
})();
