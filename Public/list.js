// The experiments list: status filter, progress, latest evaluation, refreshed every few seconds.
(function () {
  'use strict';
  const { h } = Amago;
  const REFRESH_MS = 3000;

  Amago.pages.list = function (main, route) {
    const status = route.query.get('status') || '';
    let timer = null;
    let destroyed = false;
    let limit = 100;

    const filters = h('div.filters', { role: 'toolbar' },
      [''].concat(Amago.STATUSES).map(function (s) {
        return h('a.chip' + (s === status ? '.active' : ''), { href: s ? '#/?status=' + s : '#/', dataset: { filter: s || 'all' } },
          s ? h('span.dot.status-' + s) : null, s || 'all');
      }));
    const body = h('tbody');
    const table = h('table.experiments', h('thead', h('tr',
      h('th', 'Name'), h('th', 'Environment'), h('th', 'Status'), h('th.progress-col', 'Progress'),
      h('th.num', 'Eval return'), h('th.num', 'Success'), h('th', 'Created'))), body);
    const empty = h('div.empty', { hidden: true });
    const more = h('button.more', { type: 'button', hidden: true, onclick: function () { limit += 100; refresh(); } }, 'Show more');
    const updated = h('span.muted.updated');
    main.append(h('div.page-head', h('h1', 'Experiments'), h('div.spacer'), updated,
      h('a.button', { href: '#/compare' }, 'Compare'), h('a.button.primary', { href: '#/new' }, 'New experiment')),
      filters, h('div.card.table-card', table, empty, more));

    async function refresh() {
      clearTimeout(timer);
      const started = performance.now();
      try {
        const q = new URLSearchParams({ limit: String(Math.min(limit, 1000)) });
        if (status) q.set('status', status);
        const page = await AmagoAPI.get('/experiments?' + q.toString());
        if (destroyed) return;
        render(page.experiments || []);
        more.hidden = !page.next_cursor;
        updated.textContent = 'updated ' + new Date().toLocaleTimeString();
        main.dataset.renderMs = String(Math.round(performance.now() - started));
        if (performance.getEntriesByName('amago:list').length === 0) performance.mark('amago:list');
      } catch (e) {
        if (!destroyed) Amago.notify('Could not load experiments: ' + e.message);
      }
      if (!destroyed) timer = setTimeout(refresh, REFRESH_MS);
    }

    function render(items) {
      const rows = items.map(function (e) {
        const p = e.progress || {};
        const link = '#/experiments/' + encodeURIComponent(e.id);
        return h('tr', { dataset: { id: e.id, status: e.status }, onclick: function (ev) {
          if (ev.target.closest('a')) return;
          location.hash = link;
        } },
        h('td', h('a.name', { href: link }, e.name || e.id), h('div.muted.small.mono', e.id)),
        h('td', e.environment),
        h('td', Amago.statusBadge(e.status)),
        h('td.progress-col', Amago.progressBar(e)),
        h('td.num', AmagoChart.formatNumber(p.last_return)),
        h('td.num', p.last_success_rate === null || p.last_success_rate === undefined
          ? '–' : Math.round(p.last_success_rate * 100) + '%'),
        h('td', { title: Amago.absoluteTime(e.created_at) }, Amago.relativeTime(e.created_at)));
      });
      body.replaceChildren.apply(body, rows);
      table.hidden = items.length === 0;
      empty.hidden = items.length > 0;
      empty.replaceChildren(status
        ? h('p', 'No ' + status + ' experiments.')
        : h('p', 'No experiments yet. ', h('a', { href: '#/new' }, 'Start one'), ' from a recommended spec.'));
    }

    refresh();
    return { destroy: function () { destroyed = true; clearTimeout(timer); } };
  };
})();
