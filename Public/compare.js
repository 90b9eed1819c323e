// Compare: one metric of several experiments overlaid on one chart, refreshed while they run;
// whole groups join as their mean curve with a min–max band (one per split of the group).
(function () {
  'use strict';
  const { h } = Amago;
  const REFRESH_MS = 5000;

  Amago.pages.compare = function (main, route) {
    const selected = new Set((route.query.get('ids') || '').split(',').filter(Boolean));
    const selectedGroups = new Set((route.query.get('groups') || '').split(',').filter(Boolean));
    let groups = [];
    const keysByGroup = new Map();
    let key = route.query.get('key') || '';
    let axis = Amago.setting('axis', 'env_steps');
    let smoothing = Number(Amago.setting('smoothing', '0.6'));
    let experiments = [];
    const keysByExperiment = new Map();
    let destroyed = false;
    let timer = null;
    let initialized = false;

    const picker = h('div.picker');
    const groupPicker = h('div.picker.group-picker');
    const keySelect = h('select', { id: 'compare-key', onchange: function (e) { key = e.target.value; sync(); draw(); } });
    const axisSelect = h('select', { id: 'x-axis', onchange: function (e) { axis = e.target.value; Amago.remember('axis', axis); draw(); } },
      Amago.AXES.map(function (a) { return h('option', { value: a[0], selected: a[0] === axis }, a[1]); }));
    const sliderValue = h('span.slider-value', smoothing.toFixed(2));
    const slider = h('input', { type: 'range', min: '0', max: '0.99', step: '0.01', value: String(smoothing), oninput: function (e) {
      smoothing = Number(e.target.value);
      sliderValue.textContent = smoothing.toFixed(2);
      Amago.remember('smoothing', String(smoothing));
      if (chart) chart.setSmoothing(smoothing);
    } });
    const chartBox = h('div.chart-box.chart-large');
    const legend = h('div.legend');
    const hint = h('p.muted.hint');
    let chart = null;
    main.append(h('div.page-head', h('h1', 'Compare'), h('div.spacer'), h('a.button', { href: '#/' }, 'All experiments')),
      h('div.compare-layout',
        h('aside.card.compare-aside', h('h2', 'Experiments'), picker, h('h2', 'Groups (mean, min–max band)'), groupPicker),
        h('section.card.compare-main',
          h('div.toolbar', h('label', 'Metric ', keySelect), h('label', 'X axis ', axisSelect),
            h('label.smoothing', 'Smoothing ', slider, sliderValue)),
          hint, chartBox, legend)));

    function sync() {
      const q = new URLSearchParams();
      if (selected.size) q.set('ids', Array.from(selected).join(','));
      if (selectedGroups.size) q.set('groups', Array.from(selectedGroups).join(','));
      if (key) q.set('key', key);
      history.replaceState(null, '', '#/compare' + (q.toString() ? '?' + q.toString() : ''));
    }

    function color(id) {
      const i = experiments.findIndex(function (e) { return e.id === id; });
      return AmagoChart.PALETTE[(i < 0 ? 0 : i) % AmagoChart.PALETTE.length];
    }

    function renderPicker() {
      picker.replaceChildren.apply(picker, experiments.map(function (e) {
        return h('label.pick', { dataset: { id: e.id } },
          h('input', { type: 'checkbox', checked: selected.has(e.id), onchange: function (ev) {
            if (ev.target.checked) selected.add(e.id); else selected.delete(e.id);
            sync();
            loadKeys().then(draw);
          } }),
          h('span.swatch', { style: 'background:' + color(e.id) }),
          h('span.pick-name', e.name || e.id), Amago.statusBadge(e.status));
      }));
      if (experiments.length === 0) picker.append(h('p.muted', 'No experiments yet.'));
    }

    function renderGroupPicker() {
      groupPicker.replaceChildren.apply(groupPicker, groups.map(function (g) {
        return h('label.pick', { dataset: { group: g.group } },
          h('input', { type: 'checkbox', checked: selectedGroups.has(g.group), onchange: function (ev) {
            if (ev.target.checked) selectedGroups.add(g.group); else selectedGroups.delete(g.group);
            sync();
            loadKeys().then(draw);
          } }),
          h('span.pick-name', g.group), h('span.muted.small', g.experiments + (g.experiments === 1 ? ' run' : ' runs')));
      }));
      if (groups.length === 0) groupPicker.append(h('p.muted', 'No groups yet.'));
    }

    async function loadKeys() {
      await Promise.all(Array.from(selectedGroups).filter(function (g) { return !keysByGroup.has(g); }).map(async function (g) {
        try {
          const members = (await AmagoAPI.get(AmagoAPI.groupPath(g))).experiments || [];
          const keys = new Set();
          for (const m of members) for (const k in m.metrics || {}) keys.add(k);
          keysByGroup.set(g, Array.from(keys));
        } catch (e) { keysByGroup.set(g, []); }
      }));
      await Promise.all(Array.from(selected).filter(function (id) { return !keysByExperiment.has(id); }).map(async function (id) {
        try {
          keysByExperiment.set(id, (await AmagoAPI.get('/experiments/' + encodeURIComponent(id) + '/metrics')).keys || []);
        } catch (e) { keysByExperiment.set(id, []); }
      }));
      const all = new Set();
      for (const id of selected) for (const k of keysByExperiment.get(id) || []) all.add(k);
      for (const g of selectedGroups) for (const k of keysByGroup.get(g) || []) all.add(k);
      const keys = Array.from(all).sort();
      if (!key || !all.has(key)) key = all.has('val/return') ? 'val/return' : (keys[0] || '');
      keySelect.replaceChildren.apply(keySelect, keys.map(function (k) { return h('option', { value: k, selected: k === key }, k); }));
      sync();
    }

    async function draw() {
      clearTimeout(timer);
      const ids = Array.from(selected).filter(function (id) { return (keysByExperiment.get(id) || []).indexOf(key) >= 0; });
      const groupNames = Array.from(selectedGroups).filter(function (g) { return (keysByGroup.get(g) || []).indexOf(key) >= 0; });
      hint.textContent = selected.size + selectedGroups.size === 0 ? 'Pick experiments or groups on the left to overlay their curves.'
        : !key ? 'The selected experiments have no metrics yet.'
          : ids.length < selected.size ? (selected.size - ids.length) + ' selected experiment(s) have no "' + key + '".' : '';
      const wanted = axis;
      const series = await Promise.all(ids.map(async function (id) {
        try {
          const s = await AmagoAPI.get(AmagoAPI.seriesPath(id, key, { x: wanted, max_points: '500' }));
          const e = experiments.find(function (x) { return x.id === id; }) || { id: id };
          // Wall time starts at each run's first point so runs line up.
          const origin = wanted === 'wall_time' && s.points.length ? s.points[0].x : 0;
          return { name: e.name || id, color: color(id), points: s.points.map(function (p) {
            return { x: p.x - origin, value: p.value, min: p.min, max: p.max };
          }) };
        } catch (err) { return null; }
      }));
      const aggregated = await Promise.all(groupNames.map(async function (g, gi) {
        try {
          const answer = await AmagoAPI.get(AmagoAPI.groupSeriesPath(g, key, { x: wanted, points: '200' }));
          return answer.curves.map(function (c, ci) {
            return { name: g + (c.label === 'all' ? '' : ' · ' + c.label) + ' (' + c.experiments.length + ' runs)',
                     color: AmagoChart.PALETTE[(experiments.length + gi * 3 + ci) % AmagoChart.PALETTE.length], group: g,
                     points: c.points.map(function (p) { return { x: p.x, value: p.mean, min: p.min, max: p.max }; }) };
          });
        } catch (err) { return []; }
      }));
      aggregated.forEach(function (curves) { series.push.apply(series, curves); });
      if (destroyed || wanted !== axis) return;
      if (!chart) chart = new AmagoChart.LineChart(chartBox, { height: 380, smoothing: smoothing });
      chart.formatX = Amago.axisFormatter(axis, 0);
      chart.xName = Amago.axisName(axis);
      chart.smoothing = smoothing;
      const drawn = series.filter(Boolean);
      chart.setSeries(drawn);
      legend.replaceChildren.apply(legend, drawn.map(function (s) {
        const last = s.points.length ? s.points[s.points.length - 1].value : null;
        return h('span.legend-item', h('span.swatch', { style: 'background:' + s.color }), s.name, h('span.muted', ' ' + AmagoChart.formatNumber(last)));
      }));
      if (!destroyed) timer = setTimeout(refresh, REFRESH_MS);
    }

    async function refresh() {
      try {
        const answers = await Promise.all([AmagoAPI.get('/experiments?limit=200'), AmagoAPI.get('/groups')]);
        experiments = answers[0].experiments || [];
        groups = answers[1].groups || [];
      } catch (e) {
        Amago.notify('Could not load experiments: ' + e.message);
        return;
      }
      if (destroyed) return;
      if (!initialized && selected.size === 0 && selectedGroups.size === 0) experiments.slice(0, 3).forEach(function (e) { selected.add(e.id); });
      initialized = true;
      renderPicker();
      renderGroupPicker();
      keysByExperiment.clear();
      keysByGroup.clear();
      await loadKeys();
      await draw();
    }

    refresh();
    const onResize = function () { if (chart) chart.render(); };
    window.addEventListener('resize', onResize);
    return { destroy: function () { destroyed = true; clearTimeout(timer); window.removeEventListener('resize', onResize); } };
  };
})();
