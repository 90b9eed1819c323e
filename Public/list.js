// The experiments list: filters by status, name search, environment, group and tag (kept in
// the URL), progress, latest evaluation, refreshed every few seconds.
(function () {
  'use strict';
  const { h } = Amago;
  const REFRESH_MS = 3000;
  const SEARCH_DELAY_MS = 150;
  /** The filters the list keeps in the URL, as the API's query parameters. */
  const FIELDS = ['status', 'q', 'environment', 'group', 'tag'];

  Amago.pages.list = function (main, route) {
    const filter = {};
    for (const f of FIELDS) filter[f] = route.query.get(f) || '';
    let timer = null;
    let searchTimer = null;
    let destroyed = false;
    let limit = 100;
    let generation = 0;

    /** The list's hash for the current filters with `change` applied. */
    function href(change) {
      const q = new URLSearchParams();
      for (const f of FIELDS) {
        const v = change && f in change ? change[f] : filter[f];
        if (v) q.set(f, v);
      }
      return '#/' + (q.toString() ? '?' + q.toString() : '');
    }

    /** Applies a filter change in place: the URL follows, the rows reload at once. */
    function setFilter(change) {
      const started = performance.now();
      Object.assign(filter, change);
      history.replaceState(null, '', href());
      limit = 100;
      renderChips();
      syncControls();
      refresh(started);
    }

    const chips = h('div.chips');
    function renderChips() {
      chips.replaceChildren.apply(chips, [''].concat(Amago.STATUSES).map(function (s) {
        return h('a.chip' + (s === filter.status ? '.active' : ''), {
          href: href({ status: s }), dataset: { filter: s || 'all' },
          onclick: function (e) { e.preventDefault(); setFilter({ status: s }); },
        }, s ? h('span.dot.status-' + s) : null, s || 'all');
      }));
    }

    const search = h('input.filter', { type: 'search', id: 'filter-q', placeholder: 'Search names', value: filter.q, oninput: function (e) {
      clearTimeout(searchTimer);
      const value = e.target.value.trim();
      searchTimer = setTimeout(function () { setFilter({ q: value }); }, SEARCH_DELAY_MS);
    } });
    function select(id, field, label) {
      return h('select', { id: id, title: label, onchange: function (e) { setFilter({ [field]: e.target.value }); } },
        h('option', { value: '' }, label));
    }
    const environmentSelect = select('filter-environment', 'environment', 'any environment');
    const groupSelect = select('filter-group', 'group', 'any group');
    const tagSelect = select('filter-tag', 'tag', 'any tag');
    const clear = h('button.link', { type: 'button', id: 'filter-clear', onclick: function () {
      search.value = '';
      setFilter({ status: '', q: '', environment: '', group: '', tag: '' });
    } }, 'Clear filters');

    /** Fills a select with `values` (keeping the chosen one even when it is not among them). */
    function fill(selectNode, values, chosen, describe) {
      const first = selectNode.firstChild;
      const list = values.slice();
      if (chosen && !list.some(function (v) { return v.value === chosen; })) list.unshift({ value: chosen, text: chosen });
      selectNode.replaceChildren.apply(selectNode, [first].concat(list.map(function (v) {
        return h('option', { value: v.value, selected: v.value === chosen }, describe ? describe(v) : v.text);
      })));
    }

    function syncControls() {
      for (const [node, field] of [[environmentSelect, 'environment'], [groupSelect, 'group'], [tagSelect, 'tag']]) node.value = filter[field];
      if (document.activeElement !== search) search.value = filter.q;
      clear.hidden = !FIELDS.some(function (f) { return filter[f]; });
    }

    async function loadChoices() {
      const [envs, groups, tags] = await Promise.all([
        AmagoAPI.get('/envs').catch(function () { return { environments: [] }; }),
        AmagoAPI.get('/groups').catch(function () { return { groups: [] }; }),
        AmagoAPI.get('/tags').catch(function () { return { tags: [] }; }),
      ]);
      if (destroyed) return;
      fill(environmentSelect, (envs.environments || []).map(function (e) { return { value: e.name, text: e.name }; }), filter.environment);
      fill(groupSelect, (groups.groups || []).map(function (g) { return { value: g.group, text: g.group + ' (' + g.experiments + ')' }; }), filter.group);
      fill(tagSelect, (tags.tags || []).map(function (t) { return { value: t.tag, text: t.tag + ' (' + t.experiments + ')' }; }), filter.tag);
      syncControls();
    }

    const body = h('tbody');
    const table = h('table.experiments', h('thead', h('tr',
      h('th', 'Name'), h('th', 'Group'), h('th', 'Environment'), h('th', 'Status'), h('th.progress-col', 'Progress'),
      h('th.num', 'Eval return'), h('th.num', 'Success'), h('th', 'Created'))), body);
    const empty = h('div.empty', { hidden: true });
    const more = h('button.more', { type: 'button', hidden: true, onclick: function () { limit += 100; refresh(); } }, 'Show more');
    const updated = h('span.muted.updated');
    const count = h('span.muted.small.count');
    main.append(h('div.page-head', h('h1', 'Experiments'), h('div.spacer'), updated,
      h('a.button', { href: '#/groups' }, 'Groups'), h('a.button', { href: '#/compare' }, 'Compare'),
      h('a.button.primary', { href: '#/new' }, 'New experiment')),
    h('div.filters', { role: 'toolbar' }, chips, h('div.filter-fields', search, environmentSelect, groupSelect, tagSelect, clear, count)),
    h('div.card.table-card', table, empty, more));

    /**
     * Loads the rows for the current filters. `started` (a filter change's time) is measured to
     * the rendered rows as `data-filter-ms`; an answer to an older filter is dropped.
     */
    async function refresh(started) {
      clearTimeout(timer);
      const mine = ++generation;
      const began = performance.now();
      try {
        const q = new URLSearchParams({ limit: String(Math.min(limit, 1000)) });
        for (const f of FIELDS) if (filter[f]) q.set(f, filter[f]);
        const page = await AmagoAPI.get('/experiments?' + q.toString());
        if (destroyed || mine !== generation) return;
        render(page.experiments || []);
        more.hidden = !page.next_cursor;
        count.textContent = (page.experiments || []).length + (page.next_cursor ? '+' : '') + ' shown';
        updated.textContent = 'updated ' + new Date().toLocaleTimeString();
        main.dataset.renderMs = String(Math.round(performance.now() - began));
        main.dataset.filters = href();
        if (started !== undefined) main.dataset.filterMs = String(performance.now() - started);
        if (performance.getEntriesByName('amago:list').length === 0) performance.mark('amago:list');
      } catch (e) {
        if (!destroyed && mine === generation) Amago.notify('Could not load experiments: ' + e.message);
      }
      if (!destroyed && mine === generation) timer = setTimeout(refresh, REFRESH_MS);
    }

    function render(items) {
      const rows = items.map(function (e) {
        const p = e.progress || {};
        const link = '#/experiments/' + encodeURIComponent(e.id);
        return h('tr', { dataset: { id: e.id, status: e.status, group: e.group || '' }, onclick: function (ev) {
          if (ev.target.closest('a')) return;
          location.hash = link;
        } },
        h('td', h('a.name', { href: link }, e.name || e.id),
          h('div.muted.small', h('span.mono', e.id), (e.tags || []).map(function (t) {
            return Amago.tagChip(t, function (tag) { setFilter({ tag: tag }); });
          }))),
        h('td', Amago.groupLink(e.group)),
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
      const filtered = FIELDS.some(function (f) { return filter[f]; });
      empty.replaceChildren(filtered
        ? h('p', 'No experiments match these filters. ', h('a', { href: '#/' }, 'Show all'), '.')
        : h('p', 'No experiments yet. ', h('a', { href: '#/new' }, 'Start one'), ' from a recommended spec.'));
    }

    renderChips();
    syncControls();
    loadChoices();
    refresh();
    return { destroy: function () { destroyed = true; clearTimeout(timer); clearTimeout(searchTimer); } };
  };
})();
