// The REST client of the dashboard: JSON requests with the stored bearer token, and the live
// feed of one experiment (Server-Sent Events, or polling when the stream is unavailable).
(function (root) {
  'use strict';

  const TOKEN_KEY = 'amago.token';

  /** An API failure with the server's error body. */
  class ApiError extends Error {
    constructor(status, body) {
      const error = (body && body.error) || {};
      super(error.message || ('HTTP ' + status));
      this.status = status;
      this.code = error.code || null;
      this.field = error.field || null;
      this.fields = (body && body.fields) || [];
    }
  }

  function token() {
    try { return localStorage.getItem(TOKEN_KEY) || ''; } catch (e) { return ''; }
  }

  function setToken(value) {
    try {
      if (value) localStorage.setItem(TOKEN_KEY, value); else localStorage.removeItem(TOKEN_KEY);
    } catch (e) { /* storage disabled: the token lasts for this page only */ }
  }

  const listeners = new Set();

  /** Calls `callback(error)` whenever a request is refused with 401. */
  function onUnauthorized(callback) { listeners.add(callback); }

  /** Sends a request; resolves with the parsed JSON (or null), rejects with ApiError. */
  async function request(method, path, body) {
    const headers = { Accept: 'application/json' };
    const t = token();
    if (t && method !== 'GET') headers.Authorization = 'Bearer ' + t;
    const init = { method: method, headers: headers, cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
    }
    const response = await fetch(path, init);
    const text = await response.text();
    let json = null;
    if (text) { try { json = JSON.parse(text); } catch (e) { json = null; } }
    if (!response.ok) {
      const error = new ApiError(response.status, json);
      if (response.status === 401) listeners.forEach(function (cb) { cb(error); });
      throw error;
    }
    return json;
  }

  const get = function (path) { return request('GET', path); };
  const post = function (path, body) { return request('POST', path, body); };

  /** A metric key as path segments (keys hold slashes, each segment is escaped). */
  function keyPath(key) { return key.split('/').map(encodeURIComponent).join('/'); }

  /** The series URL of one metric key of an experiment. */
  function seriesPath(id, key, query) {
    return '/experiments/' + encodeURIComponent(id) + '/metrics/' + keyPath(key) + '?' + new URLSearchParams(query).toString();
  }

  /** Every point of one metric key as CSV, with `axis` named as the x column the server sorts by. */
  function csvPath(id, key, axis) {
    return '/experiments/' + encodeURIComponent(id) + '/metrics/' + keyPath(key) + '.csv?' + new URLSearchParams({ x: axis }).toString();
  }

  /** The export of one experiment: `format` is 'jsonl' or 'zip'. */
  function exportPath(id, format) { return '/experiments/' + encodeURIComponent(id) + '/export?format=' + encodeURIComponent(format); }

  /** A group's summary (the name is one path segment). */
  function groupPath(group) { return '/groups/' + encodeURIComponent(group); }

  /** One metric's curves averaged across a group's runs. */
  function groupSeriesPath(group, key, query) {
    return groupPath(group) + '/series/' + keyPath(key) + '?' + new URLSearchParams(query).toString();
  }

  /**
   * The live feed of one experiment. `handlers`: experiment(summary), status(change),
   * points([{key, value, env_steps, grad_steps, epoch, wall_time}]), poll() (called every
   * ~2 s while the stream is unavailable, so the page can fetch increments itself),
   * mode(name) with 'stream' or 'polling'.
   */
  class LiveFeed {
    constructor(id, handlers, options) {
      this.id = id;
      this.handlers = handlers;
      this.interval = (options && options.interval) || 2000;
      this.closed = false;
      this.source = null;
      this.timer = null;
      this.cursor = (options && options.cursor) || 0;
      const forced = (options && options.mode) || '';
      if (forced === 'poll' || typeof EventSource === 'undefined') this.startPolling();
      else this.startStream();
    }

    startStream() {
      let opened = false;
      const query = this.cursor > 0 ? '?after=' + this.cursor : '';
      const source = new EventSource('/experiments/' + encodeURIComponent(this.id) + '/events' + query);
      this.source = source;
      source.onopen = () => { opened = true; this.setMode('stream'); };
      source.addEventListener('experiment', (e) => {
        const data = parse(e.data);
        if (!data) return;
        if (typeof data.metric_cursor === 'number' && data.metric_cursor > this.cursor) this.cursor = data.metric_cursor;
        this.handlers.experiment && this.handlers.experiment(data);
      });
      source.addEventListener('status', (e) => {
        const data = parse(e.data);
        if (data && this.handlers.status) this.handlers.status(data);
      });
      source.addEventListener('metrics', (e) => {
        const data = parse(e.data);
        if (!data || !Array.isArray(data.points)) return;
        for (const p of data.points) if (p.id > this.cursor) this.cursor = p.id;
        this.handlers.points && this.handlers.points(data.points);
      });
      source.onerror = () => {
        // Never opened (no such endpoint, a proxy in the way) or closed for good: poll instead.
        // A stream that drops after opening reconnects by itself with Last-Event-ID.
        if (this.closed) return;
        if (!opened || source.readyState === EventSource.CLOSED) {
          source.close();
          this.source = null;
          this.startPolling();
        }
      };
    }

    startPolling() {
      if (this.closed || this.timer) return;
      this.setMode('polling');
      const tick = async () => {
        if (this.closed) return;
        try { if (this.handlers.poll) await this.handlers.poll(); } catch (e) { /* next tick retries */ }
        if (!this.closed) this.timer = setTimeout(tick, this.interval);
      };
      this.timer = setTimeout(tick, this.interval);
    }

    setMode(mode) {
      this.mode = mode;
      if (this.handlers.mode) this.handlers.mode(mode);
    }

    /** Ends the stream or the polling. */
    close() {
      this.closed = true;
      if (this.source) this.source.close();
      if (this.timer) clearTimeout(this.timer);
    }
  }

  function parse(text) { try { return JSON.parse(text); } catch (e) { return null; } }

  root.AmagoAPI = {
    ApiError: ApiError, request: request, get: get, post: post, token: token, setToken: setToken,
    onUnauthorized: onUnauthorized, seriesPath: seriesPath, csvPath: csvPath, exportPath: exportPath,
    groupPath: groupPath, groupSeriesPath: groupSeriesPath, LiveFeed: LiveFeed,
  };
})(this);
