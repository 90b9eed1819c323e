// New experiment: a recommended spec from /envs, edited as a form or as JSON; the server's
// validation errors are shown beside the fields they name.
(function () {
  'use strict';
  const { h } = Amago;

  /** "a.b[2].c" → "a.b.2.c" (how form inputs are keyed). */
  function normalizePath(path) { return String(path || '').replace(/^\$\.?/, '').replace(/\[(\d+)\]/g, '.$1'); }

  function getAt(object, path) {
    return path.split('.').reduce(function (o, k) { return o === null || o === undefined ? undefined : o[k]; }, object);
  }

  function setAt(object, path, value) {
    const keys = path.split('.');
    let o = object;
    for (let i = 0; i < keys.length - 1; i++) o = o[keys[i]];
    o[keys[keys.length - 1]] = value;
  }

  Amago.pages.new = function (main, route) {
    let envs = [];
    let spec = {};
    let mode = 'form';
    const envSelect = h('select', { id: 'env', onchange: function (e) { choose(e.target.value); } });
    const envInfo = h('div.env-info');
    const formArea = h('div.spec-form');
    const editor = h('textarea.json-editor.mono', { id: 'spec-json', spellcheck: false, rows: 28, hidden: true });
    const errorList = h('div.form-errors');
    const tabs = h('div.tabs',
      h('button.tab.active', { type: 'button', dataset: { mode: 'form' }, onclick: function () { switchMode('form'); } }, 'Form'),
      h('button.tab', { type: 'button', dataset: { mode: 'json' }, onclick: function () { switchMode('json'); } }, 'JSON'));
    const submit = h('button.primary', { type: 'submit', id: 'create' }, 'Create experiment');
    main.append(h('div.page-head', h('h1', 'New experiment'), h('div.spacer'), h('a.button', { href: '#/' }, 'Cancel')),
      h('div.new-layout',
        h('form.card.new-form', { onsubmit: function (e) { e.preventDefault(); create(); }, novalidate: true },
          h('div.toolbar', h('label', 'Environment ', envSelect), h('div.spacer'), tabs),
          errorList, formArea, editor, h('div.form-actions', submit)),
        h('aside.card', h('h2', 'Environment'), envInfo)));

    function choose(name) {
      const env = envs.find(function (e) { return e.name === name; });
      if (!env) return;
      spec = JSON.parse(JSON.stringify(env.recommended_spec));
      envInfo.replaceChildren(h('p', env.summary),
        env.parameters.length ? h('table.compact', h('thead', h('tr', h('th', 'Parameter'), h('th', 'Default'), h('th', 'Expected'))),
          h('tbody', env.parameters.map(function (p) {
            return h('tr', { title: p.description }, h('td.mono', p.name), h('td.mono', JSON.stringify(p.default)), h('td.small', p.expected));
          }))) : h('p.muted', 'No parameters.'));
      showErrors([]);
      renderForm();
      editor.value = JSON.stringify(spec, null, 2);
    }

    function field(path, value) {
      const label = path.split('.').pop();
      let input;
      if (typeof value === 'boolean') {
        input = h('input', { type: 'checkbox', checked: value, onchange: function (e) { setAt(spec, path, e.target.checked); } });
      } else if (typeof value === 'number') {
        input = h('input', { type: 'number', step: 'any', value: String(Number(value.toPrecision(7))), onchange: function (e) {
          setAt(spec, path, e.target.value === '' ? null : Number(e.target.value));
        } });
      } else if (typeof value === 'string' || value === null) {
        input = h('input', { type: 'text', value: value === null ? '' : value, placeholder: value === null ? 'null' : '', onchange: function (e) {
          setAt(spec, path, e.target.value === '' && value === null ? null : e.target.value);
        } });
      } else {
        input = h('input.mono', { type: 'text', value: JSON.stringify(value), onchange: function (e) {
          try { setAt(spec, path, JSON.parse(e.target.value)); e.target.setCustomValidity(''); } catch (err) { e.target.setCustomValidity('not JSON'); }
        } });
      }
      input.name = path;
      return h('div.field', { dataset: { path: path } }, h('label', label), input, h('div.field-error'));
    }

    function section(object, prefix) {
      return Object.entries(object).map(function (kv) {
        const path = prefix ? prefix + '.' + kv[0] : kv[0];
        const v = kv[1];
        if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0) {
          return h('fieldset', { dataset: { path: path } }, h('legend', kv[0]), h('div.fields', section(v, path)));
        }
        return field(path, v);
      });
    }

    /** The study labels: a group name and comma-separated tags (absent from the spec when empty). */
    function labelFields() {
      const group = h('input', { type: 'text', name: 'group', value: spec.group || '', placeholder: 'none', onchange: function (e) {
        const v = e.target.value.trim();
        if (v) spec.group = v; else delete spec.group;
      } });
      const tags = h('input', { type: 'text', name: 'tags', value: (spec.tags || []).join(', '), placeholder: 'comma-separated',
        onchange: function (e) {
          const list = e.target.value.split(',').map(function (t) { return t.trim(); }).filter(Boolean);
          if (list.length) spec.tags = list; else delete spec.tags;
        } });
      return [h('div.field', { dataset: { path: 'group' } }, h('label', 'group'), group, h('div.field-error')),
        h('div.field', { dataset: { path: 'tags' } }, h('label', 'tags'), tags, h('div.field-error'))];
    }

    function renderForm() {
      const scalars = Object.entries(spec).filter(function (kv) {
        return kv[0] !== 'group' && kv[0] !== 'tags' && (kv[1] === null || typeof kv[1] !== 'object' || Array.isArray(kv[1]));
      });
      const top = {};
      scalars.forEach(function (kv) { top[kv[0]] = kv[1]; });
      const nested = {};
      const order = ['environment', 'schedule', 'model', 'agent', 'evaluation', 'exploration', 'checkpoints'];
      const rank = function (k) { const i = order.indexOf(k); return i < 0 ? order.length : i; };
      Object.keys(spec).filter(function (k) { return !(k in top) && k !== 'group' && k !== 'tags'; })
        .sort(function (a, b) { return rank(a) - rank(b) || a.localeCompare(b); })
        .forEach(function (k) { nested[k] = spec[k]; });
      formArea.replaceChildren.apply(formArea, [h('div.fields.top-fields', section(top, ''), labelFields())].concat(section(nested, '')));
    }

    function switchMode(next) {
      if (next === mode) return;
      if (next === 'form') {
        try { spec = JSON.parse(editor.value); } catch (e) { showErrors([{ field: '', message: 'not valid JSON: ' + e.message }]); return; }
        renderForm();
      } else {
        editor.value = JSON.stringify(spec, null, 2);
      }
      mode = next;
      formArea.hidden = mode !== 'form';
      editor.hidden = mode !== 'json';
      for (const t of tabs.children) t.classList.toggle('active', t.dataset.mode === mode);
    }

    function showErrors(fields) {
      for (const f of formArea.querySelectorAll('.field-error')) f.textContent = '';
      for (const f of formArea.querySelectorAll('.invalid')) f.classList.remove('invalid');
      const unplaced = [];
      for (const f of fields) {
        const path = normalizePath(f.field);
        // A tag's error (`tags[1]`) goes beside the one tags field.
        const shown = /^tags\.\d+$/.test(path) ? 'tags' : path;
        const target = shown && formArea.querySelector('[data-path="' + CSS.escape(shown) + '"]');
        const message = f.message || 'expected ' + f.expected;
        if (target && mode === 'form') {
          target.classList.add('invalid');
          const slot = target.querySelector(':scope > .field-error');
          if (slot) slot.textContent = message; else target.append(h('div.field-error', message));
        }
        unplaced.push(h('li', h('span.mono', path || 'spec'), ': ', message));
      }
      errorList.replaceChildren(fields.length ? h('div.banner.banner-error', h('strong', 'The server rejected this spec:'), h('ul', unplaced)) : '');
      const first = formArea.querySelector('.invalid');
      if (first && mode === 'form') first.scrollIntoView({ block: 'nearest' });
    }

    async function create() {
      let body = spec;
      if (mode === 'json') {
        try { body = JSON.parse(editor.value); } catch (e) { showErrors([{ field: '', message: 'not valid JSON: ' + e.message }]); return; }
      }
      submit.disabled = true;
      try {
        // Checked first, so a rejected spec is shown without a failed request.
        const verdict = await AmagoAPI.post('/experiments/validate', body);
        if (!verdict.valid) { showErrors(verdict.fields); return; }
        const e = await AmagoAPI.post('/experiments', body);
        location.hash = '#/experiments/' + encodeURIComponent(e.id);
      } catch (err) {
        if (err.fields && err.fields.length) showErrors(err.fields);
        else if (err.status !== 401) showErrors([{ field: err.field || '', message: err.message }]);
      } finally {
        submit.disabled = false;
      }
    }

    AmagoAPI.get('/envs').then(function (r) {
      envs = r.environments || [];
      envSelect.replaceChildren.apply(envSelect, envs.map(function (e) { return h('option', { value: e.name }, e.name); }));
      const wanted = route.query.get('env');
      const initial = envs.find(function (e) { return e.name === wanted; }) || envs.find(function (e) { return e.name === 'tmaze_passive'; }) || envs[0];
      if (initial) { envSelect.value = initial.name; choose(initial.name); }
    }).catch(function (e) { Amago.notify('Could not load environments: ' + e.message); });

    return { destroy: function () {} };
  };

  Amago.normalizePath = normalizePath;
  Amago.getAt = getAt;
})();
