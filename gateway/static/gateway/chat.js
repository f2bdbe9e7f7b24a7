// The openclaw web chat: one gateway WebSocket (docs/protocol.md), a session list, streamed
// Markdown answers, tool activity, approvals, abort, and reconnects that lose nothing in flight.
"use strict";
(function () {
  const { MarkdownView } = window.OpenclawMarkdown;
  const { Attachments, mediaNode, sentFile } = window.OpenclawAttach;
  const $ = (id) => document.getElementById(id);
  const conf = (id) => JSON.parse($(id).textContent);
  const WS_PATH = conf("oc-ws-path") || "/ws/gateway/", IS_STAFF = conf("oc-is-staff") === true;
  const DEFAULT_AGENT = conf("oc-agent") || "main", TOKEN_KEY = "openclaw.token";
  const RENDER_MS = 80, BACKOFF_MIN = 1000, BACKOFF_MAX = 15000;

  const messagesEl = $("messages"), inputEl = $("input"), sendBtn = $("send"), stopBtn = $("stop");
  const statusEl = $("status"), retryBtn = $("retry"), composer = $("composer"), titleEl = $("session-title");
  const listEl = $("session-list"), sidebar = $("sidebar"), menuBtn = $("menu"), scrim = $("scrim");
  const tokenForm = $("token-form"), tokenInput = $("token-input"), tokenError = $("token-error");

  let session = sessionFromUrl();
  let ws = null, token = null, nextId = 1, backoff = BACKOFF_MIN, reconnectTimer = null, view = 0;
  let loading = null;        // {view, entries, queue}: events held until history + attach are in
  let sessions = [];         // the last sessions.list
  let listTimer = null;
  const pending = new Map(); // request id -> {ok, err}
  const runs = new Map();    // run id -> RunView of the current session
  const busyElsewhere = new Set(); // other sessions with an answer streaming
  const outbox = new Map();  // idempotency key -> a message whose chat.send has no answer yet
  const commandRuns = new Map(); // run id -> the command text (answered by a chat.final)
  let userRunsShown = new Set(); // runs whose user message the history of this view showed

  // ---- small helpers ----
  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function randomKey() { // crypto.randomUUID needs a secure context; getRandomValues does not
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  function agentOf(key) { const p = key.split(":"); return p[0] === "agent" && p[1] ? p[1] : DEFAULT_AGENT; }
  function sessionFromUrl() {
    return new URLSearchParams(location.search).get("session") || "agent:" + DEFAULT_AGENT + ":main";
  }
  function contentText(c) { // a string, or a list of parts such as {type: "text", text}
    if (typeof c === "string") return c;
    if (!Array.isArray(c)) return "";
    return c.map((p) => (typeof p === "string" ? p : (p && typeof p.text === "string" ? p.text : ""))).join("");
  }
  function copyText(text, btn) {
    const done = (ok) => {
      btn.textContent = ok ? "Copied" : "Copy failed";
      setTimeout(() => { btn.textContent = "Copy"; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(() => done(true), () => done(fallbackCopy(text)));
    } else done(fallbackCopy(text));
  }
  function fallbackCopy(text) { // plain http on a LAN address: no Clipboard API
    const area = el("textarea");
    area.value = text; area.setAttribute("readonly", ""); area.className = "offscreen";
    document.body.append(area);
    area.select();
    let ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    area.remove();
    return ok;
  }
  function relTime(iso) {
    const t = Date.parse(iso);
    if (!t) return "";
    const s = Math.max(0, (Date.now() - t) / 1000);
    if (s < 60) return "just now";
    if (s < 3600) return Math.floor(s / 60) + " min ago";
    if (s < 86400) return Math.floor(s / 3600) + " h ago";
    return new Date(t).toLocaleDateString();
  }

  const store = { // sessionStorage may be unavailable (privacy modes): then the token lives in memory only
    get() { try { return sessionStorage.getItem(TOKEN_KEY); } catch (e) { return null; } },
    set(v) { try { sessionStorage.setItem(TOKEN_KEY, v); } catch (e) { /* ignore */ } },
    clear() { try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* ignore */ } },
  };
  function takeToken() { // #token=... wins over sessionStorage, and leaves the address bar at once
    const frag = new URLSearchParams(location.hash.slice(1)), t = frag.get("token");
    if (!t) return store.get();
    frag.delete("token");
    const rest = frag.toString();
    history.replaceState(history.state, "", location.pathname + location.search + (rest ? "#" + rest : ""));
    store.set(t);
    return t;
  }

  // ---- the message list ----
  function nearBottom() { return messagesEl.scrollHeight - messagesEl.scrollTop - messagesEl.clientHeight < 80; }
  function keepBottom(fn) { // follow new output only if the reader has not scrolled up
    const stick = nearBottom(), r = fn();
    if (stick) messagesEl.scrollTop = messagesEl.scrollHeight;
    return r;
  }
  function bubble(kind) {
    const node = el("div", "msg " + kind);
    keepBottom(() => messagesEl.append(node));
    return node;
  }
  function authHeaders() { return token ? { Authorization: "Bearer " + token } : {}; }
  function showMedia(node, list, key) { // stored files of session `key`, under a message
    const files = (Array.isArray(list) ? list : []).filter((m) => m && typeof m.path === "string");
    if (!files.length) return;
    const box = el("div", "media");
    for (const m of files) box.append(mediaNode(m, key || session, authHeaders));
    keepBottom(() => node.append(box));
  }
  function userBubble(text, origin, media) {
    // A message no person typed here (another session's sessions_send, a reminder) says where
    // it came from; it is never shown as the reader's own words.
    const node = bubble(origin ? "user injected" : "user");
    if (origin) node.append(el("span", "origin", "From " + origin + ": "));
    else node.append(el("span", "sr-only", "You: "));
    node.append(document.createTextNode(text));
    showMedia(node, media);
    return node;
  }
  function notice(text, kind) {
    const node = bubble("notice" + (kind ? " " + kind : ""));
    node.textContent = text;
    return node;
  }
  function showError(e) {
    e = e || {};
    const node = bubble("error");
    node.setAttribute("role", "alert");
    node.textContent = (e.code ? e.code + ": " : "") + (e.message || "request failed");
    return node;
  }

  // One assistant answer (one run): tool activity, approvals, then the rendered text.
  class RunView {
    constructor(run, node) {
      this.run = run; this.text = ""; this.seq = 0; this.final = false; this.timer = null;
      this.breaks = []; // offsets in `text` where a model call after tool calls began
      this.el = node || bubble("assistant");
      this.el.replaceChildren();
      this.el.classList.add("assistant");
      this.el.dataset.run = run;
      this.el.append(el("span", "sr-only", "Assistant: "));
      this.toolsEl = el("div", "tools");
      this.bodyEl = el("div", "body");
      this.el.append(this.toolsEl, this.bodyEl);
      this.md = new MarkdownView(this.bodyEl, copyText);
      this.tools = new Map();
      this.sentFiles = []; // files send_file queued, shown with the final answer
      runs.set(run, this);
    }
    streaming() {
      this.el.dataset.state = "streaming";
      this.el.setAttribute("aria-busy", "true");
      updateStop();
    }
    setText(text) {
      const kept = this.breaks.filter((b) => b <= text.length && text.startsWith(this.text.slice(0, b)));
      this.breaks = kept; this.text = text; this.schedule();
    }
    append(text) { this.text += text; this.schedule(); }
    newRound() { // the text of each model call is its own paragraph, not glued to the last one
      const last = this.breaks.length ? this.breaks[this.breaks.length - 1] : 0;
      if (this.text.length > last) this.breaks.push(this.text.length);
    }
    shown() {
      let out = "", from = 0;
      for (const b of this.breaks) { out += this.text.slice(from, b) + "\n\n"; from = b; }
      return out + this.text.slice(from);
    }
    schedule() { // re-render at most every RENDER_MS while streaming
      if (this.timer === null) this.timer = setTimeout(() => this.render(), RENDER_MS);
    }
    render() {
      clearTimeout(this.timer); this.timer = null;
      keepBottom(() => this.md.update(this.shown()));
    }
    finish(stopReason) {
      this.final = true;
      this.render();
      delete this.el.dataset.state;
      this.el.removeAttribute("aria-busy");
      if (stopReason === "aborted" || stopReason === "length") this.el.dataset.stop = stopReason;
      for (const t of this.tools.values()) if (t.dataset.status === "running") toolState(t, "interrupted");
      if (this.sentFiles.length) showMedia(this.el, this.sentFiles.splice(0));
      updateStop();
    }
    tool(d) {
      let node = this.tools.get(d.call_id);
      if (!node) {
        this.newRound();
        node = el("details", "tool");
        const summary = el("summary");
        summary.append(el("span", "tool-name", d.name || "tool"), el("span", "tool-state"));
        node.append(summary, el("pre", "tool-args"), el("pre", "tool-result"));
        this.tools.set(d.call_id, node);
        keepBottom(() => this.toolsEl.append(node));
      }
      if (typeof d.args === "string") node.querySelector(".tool-args").textContent = d.args;
      if (typeof d.result_preview === "string") {
        node.querySelector(".tool-result").textContent = d.result_preview;
        const sent = d.name === "send_file" && d.status === "done" ? sentFile(d.result_preview) : null;
        // Shown when the answer is final: by then the transcript names the file, which is
        // what lets the media endpoint serve it to this session.
        if (sent && !node.dataset.shown) { node.dataset.shown = "1"; this.sentFiles.push(sent); }
      }
      toolState(node, d.status || "running");
    }
    approval(d) {
      let card = this.el.querySelector('.approval[data-approval="' + Number(d.approval) + '"]');
      if (!card) {
        card = el("div", "approval");
        card.dataset.approval = String(Number(d.approval));
        card.setAttribute("role", "group");
        card.setAttribute("aria-label", "Command approval");
        const title = el("div", "approval-title", "The agent wants to run a command:");
        title.setAttribute("role", "alert");
        card.append(title, el("pre", "approval-command"));
        const actions = el("div", "approval-actions");
        const yes = el("button", "approve", "Approve"), no = el("button", "deny", "Deny");
        yes.type = no.type = "button";
        yes.addEventListener("click", () => decide(card, true));
        no.addEventListener("click", () => decide(card, false));
        actions.append(yes, no, el("span", "approval-status"));
        card.append(actions);
        keepBottom(() => this.el.insertBefore(card, this.bodyEl));
      }
      if (typeof d.command === "string") card.querySelector(".approval-command").textContent = d.command;
      card.dataset.status = d.status;
      const pendingNow = d.status === "pending";
      for (const b of card.querySelectorAll("button")) b.disabled = !pendingNow;
      card.querySelector(".approval-status").textContent = pendingNow ? "" : d.status;
    }
  }
  function toolState(node, status) {
    node.dataset.status = status;
    node.querySelector(".tool-state").textContent = status === "running" ? "running…" : status;
    node.open = status === "running"; // shown while it runs, folded afterwards
  }
  function decide(card, approve) {
    for (const b of card.querySelectorAll("button")) b.disabled = true;
    card.querySelector(".approval-status").textContent = approve ? "approving…" : "denying…";
    request("exec.decide", { approval: Number(card.dataset.approval), approve }, (res) => {
      card.dataset.status = res.status;
      card.querySelector(".approval-status").textContent = res.status;
    }, (e) => {
      card.querySelector(".approval-status").textContent = e.message || "failed";
      for (const b of card.querySelectorAll("button")) b.disabled = false;
    });
  }
  function live() { return [...runs.values()].filter((r) => !r.final && r.el.dataset.state === "streaming"); }
  function waitingSends() { return [...outbox.values()].filter((o) => o.session === session).length; }
  function updateStop() { stopBtn.hidden = live().length === 0 && waitingSends() === 0; }

  // ---- protocol ----
  function connected() { return ws !== null && ws.readyState === WebSocket.OPEN; }
  function request(method, params, ok, err) {
    if (!connected()) return (err || showError)({ code: "disconnected", message: "not connected to the gateway" });
    const id = String(nextId++);
    pending.set(id, { ok, err });
    ws.send(JSON.stringify({ type: "req", id, method, params: params || {} }));
  }
  function onFrame(f) {
    if (!f || typeof f !== "object") return;
    if (f.type === "res") {
      const h = (typeof f.id === "string" && pending.get(f.id)) || {};
      pending.delete(f.id);
      if (f.ok) { if (h.ok) h.ok(f.result || {}); } else (h.err || showError)(f.error || {});
    } else if (f.type === "event" && f.data && typeof f.data === "object") {
      if (loading && f.data.session === session) loading.queue.push([f.event, f.data]);
      else onEvent(f.event, f.data);
    }
  }
  function onEvent(name, d) {
    if (typeof d.run !== "string") return;
    if (d.session !== session) return otherSession(name, d);
    let r = runs.get(d.run);
    if (name === "chat.delta") {
      if (r && r.final) return;
      r = r || newRun(d.run);
      if (typeof d.seq === "number") {
        if (d.seq < r.seq) return; // the attach snapshot already holds it
        if (d.seq > r.seq) resync(); // missed some: ask for the text so far again
        r.seq = d.seq + 1;
      }
      r.streaming();
      r.append(typeof d.text === "string" ? d.text : "");
    } else if (name === "chat.final") {
      const command = commandRuns.get(d.run);
      commandRuns.delete(d.run);
      if (command !== undefined && /^\/(new|reset)\b/i.test(command.trim())) return afterReset(d.text);
      r = r || newRun(d.run);
      if (typeof d.text === "string") r.setText(d.text); // the whole answer replaces the deltas
      if (d.stop_reason === "command") r.el.classList.add("command");
      r.finish(d.stop_reason);
      refreshList();
    } else if (name === "chat.error") {
      if (r) {
        if (typeof d.partial === "string" && d.partial) r.setText(d.partial);
        r.finish("error");
        if (!r.text && !r.tools.size) r.el.remove();
      }
      if (d.code === "restarting") notice(d.message || "The gateway is restarting.", "warn");
      else showError({ code: d.code, message: d.message });
    } else if (name === "chat.tool") {
      r = r || newRun(d.run);
      r.streaming();
      r.tool(d);
    } else if (name === "chat.approval") {
      r = r || newRun(d.run);
      r.approval(d);
    } else if (name === "chat.notice" && typeof d.text === "string") {
      notice(d.text);
    } // unknown events are ignored
  }
  function newRun(run) { return new RunView(run); } // a run we learn of from its events
  let resyncTimer = null;
  function resync() {
    clearTimeout(resyncTimer);
    resyncTimer = setTimeout(() => request("chat.attach", { session }, (res) => applyLive(res.live), () => {}), 50);
  }
  function otherSession(name, d) { // a session shown in the list, not open: mark it busy
    const busy = busyElsewhere.has(d.session);
    if ((name === "chat.delta" || name === "chat.tool") && !busy) { busyElsewhere.add(d.session); renderList(); }
    if (name === "chat.final" || name === "chat.error") { busyElsewhere.delete(d.session); refreshList(); }
  }

  // ---- loading a session: history, then what is streaming now ----
  function load() {
    const myView = ++view;
    loading = { view: myView, entries: null, queue: [] };
    messagesEl.setAttribute("aria-busy", "true");
    request("sessions.history", { session, limit: 200 }, (res) => {
      if (loading && loading.view === myView) loading.entries = Array.isArray(res.entries) ? res.entries : [];
    }, (e) => {
      if (loading && loading.view === myView) { loading.entries = []; showError(e); }
    });
    // Sent right behind the history: its answer comes after it, and its snapshot is newer.
    request("chat.attach", { session }, (res) => finishLoad(myView, res.live), () => finishLoad(myView, null));
  }
  function finishLoad(myView, liveRun) {
    if (!loading || loading.view !== myView) return;
    const { entries, queue } = loading;
    loading = null;
    for (const r of runs.values()) clearTimeout(r.timer);
    runs.clear();
    messagesEl.replaceChildren();
    userRunsShown = showHistory(entries || []);
    applyLive(liveRun);
    for (const [name, d] of queue) onEvent(name, d);
    for (const item of outbox.values()) if (item.session === session) showOutboxItem(item);
    messagesEl.removeAttribute("aria-busy");
    messagesEl.scrollTop = messagesEl.scrollHeight;
    if (!messagesEl.children.length) emptyState();
    resend();
    updateStop();
  }
  function emptyState() {
    const node = el("div", "empty");
    node.append(el("p", "empty-title", "Start a conversation"),
      el("p", null, "Enter sends, Shift+Enter adds a line. /help lists the commands."));
    messagesEl.append(node);
  }
  function showHistory(entries) {
    const userRuns = new Set();
    for (const e of entries) {
      if (!e || typeof e !== "object") continue;
      if (e.type === "error") {
        const r = runs.get(e.run);
        if (r && !r.text && !r.tools.size) r.el.remove();
        showError({ code: e.meta && e.meta.code, message: contentText(e.content) });
      } else if (e.type === "tool_result") { // a file the answer sent (send_file)
        const r = runs.get(e.run), sent = sentFile(contentText(e.content));
        if (r && sent) showMedia(r.el, [sent]);
      } else if (e.type === "compaction") {
        notice("Earlier messages were summarised to fit the model's context.");
      } else if (e.type === "message" && e.role === "user") {
        const origin = e.meta && typeof e.meta.origin === "string" ? e.meta.origin : "";
        const media = e.meta && Array.isArray(e.meta.media) ? e.meta.media : [];
        const said = contentText(e.content); // with files: the text, then a note per file
        userBubble(media.length ? said.split("\n\n[")[0] : said, origin, media);
        if (typeof e.run === "string") userRuns.add(e.run);
      } else if (e.type === "message" && e.role === "assistant") {
        const run = typeof e.run === "string" ? e.run : "history-" + randomKey();
        const r = runs.get(run) || new RunView(run);
        const content = contentText(e.content);
        if (content) r.newRound();
        r.text += content;
        for (const call of Array.isArray(e.tool_calls) ? e.tool_calls : []) {
          const fn = (call && call.function) || {};
          r.tool({ call_id: call.id, name: fn.name, args: fn.arguments, status: "done" });
        }
        if (e.stop_reason) r.finish(e.stop_reason === "partial" ? "error" : e.stop_reason);
        else r.render();
      }
    }
    return userRuns;
  }
  function applyLive(liveRun) {
    if (!liveRun || typeof liveRun.run !== "string") return;
    const r = runs.get(liveRun.run) || newRun(liveRun.run);
    if (r.final) return;
    r.seq = liveRun.seq || 0;
    r.text = "";
    r.breaks = [];
    for (const part of Array.isArray(liveRun.segments) ? liveRun.segments : [liveRun.text || ""]) {
      r.newRound();
      r.text += part;
    }
    r.render();
    r.streaming();
    for (const t of Array.isArray(liveRun.tools) ? liveRun.tools : []) r.tool(t);
    if (liveRun.approval) r.approval(liveRun.approval);
  }

  // ---- sending: every message carries an idempotency key and is re-sent after a reconnect ----
  function send() {
    const text = inputEl.value;
    if (attachments.busy()) return notice("A file is still uploading; send once it is in.", "warn");
    const media = attachments.take();
    if (!text.trim() && !media.length) return;
    const item = { key: randomKey(), text, media, session, sent: false, userEl: null, ph: null };
    outbox.set(item.key, item);
    inputEl.value = "";
    autosize();
    messagesEl.querySelector(".empty")?.remove();
    showOutboxItem(item);
    if (connected() && !loading) transmit(item);
    else notice("Not connected: the message is sent when the connection is back.", "warn");
    updateStop();
  }
  function showOutboxItem(item) {
    item.userEl = userBubble(item.text, "", item.media);
    item.userEl.dataset.state = "sending";
    item.ph = bubble("assistant");
    item.ph.dataset.state = "waiting";
  }
  function transmit(item) {
    const sock = ws;
    item.sent = true;
    const params = { text: item.text, session: item.session, idempotencyKey: item.key };
    if (item.media.length) params.media = item.media.map((m) => m.path);
    request("chat.send", params, (res) => {
      outbox.delete(item.key);
      if (item.userEl) delete item.userEl.dataset.state;
      const run = res.run;
      if (res.queued === "command" && typeof run === "string") commandRuns.set(run, item.text);
      if (item.session !== session || typeof run !== "string") { item.ph?.remove(); return updateStop(); }
      if (item.abort) request("chat.abort", { run }, null, () => {});
      if (userRunsShown.has(run)) item.userEl?.remove(); // re-sent, and the history had it already
      const known = runs.get(run);
      if (known) { item.ph?.remove(); if (!known.final) known.streaming(); } // merged, or events came first
      else if (item.ph) new RunView(run, item.ph).streaming();
      updateStop();
    }, (e) => {
      if (ws !== sock) return; // the socket dropped: re-sent after the reconnect
      outbox.delete(item.key);
      item.ph?.remove();
      if (item.userEl) item.userEl.dataset.state = "failed";
      if (item.session === session && !inputEl.value) { inputEl.value = item.text; autosize(); }
      showError(e);
      updateStop();
    });
  }
  function resend() { for (const item of outbox.values()) if (!item.sent) transmit(item); }
  function afterReset(reply) {
    for (const r of runs.values()) clearTimeout(r.timer);
    runs.clear();
    messagesEl.replaceChildren();
    notice(reply || "Started a new session.");
    refreshList();
  }
  function autosize() { // grow with the text (up to max-height), keeping the newest message in view
    keepBottom(() => { inputEl.style.height = "auto"; inputEl.style.height = inputEl.scrollHeight + 2 + "px"; });
  }

  // ---- sessions: the sidebar ----
  function refreshList() {
    clearTimeout(listTimer);
    listTimer = setTimeout(() => request("sessions.list", {}, (res) => {
      sessions = Array.isArray(res.sessions) ? res.sessions : [];
      renderList();
    }, () => {}), 250);
  }
  function shortName(key) { const p = key.split(":"); return p.length > 2 ? p.slice(2).join(":") : key; }
  function renderList() {
    const shown = sessions.slice();
    if (!shown.some((s) => s.key === session)) shown.unshift({ key: session, agent: agentOf(session), title: "", fresh: true });
    listEl.replaceChildren(...shown.map((s) => {
      const li = el("li"), a = el("a", "session");
      a.href = "?session=" + encodeURIComponent(s.key);
      a.dataset.key = s.key;
      if (s.key === session) a.setAttribute("aria-current", "page");
      const title = el("span", "session-title", s.title || (s.fresh ? "New chat" : shortName(s.key)));
      const meta = el("span", "session-meta", [s.agent, s.channel && s.channel !== "web" ? s.channel : "", relTime(s.last_active)].filter(Boolean).join(" · "));
      a.title = s.key;
      a.append(title, meta);
      if (busyElsewhere.has(s.key)) a.append(el("span", "session-busy", "answering"));
      a.addEventListener("click", (ev) => {
        if (ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return; // open in a new tab
        ev.preventDefault();
        switchTo(s.key);
      });
      li.append(a);
      return li;
    }));
    const current = shown.find((s) => s.key === session);
    titleEl.textContent = (current && current.title) || shortName(session);
    titleEl.title = session;
    document.title = (current && current.title ? current.title + " · " : "") + "openclaw";
  }
  function switchTo(key, fromHistory) {
    closeSidebar();
    if (key === session) return;
    session = key;
    attachments.clear(); // uploaded for the session we leave
    busyElsewhere.delete(key);
    for (const r of runs.values()) clearTimeout(r.timer);
    if (!fromHistory) history.pushState(null, "", "?session=" + encodeURIComponent(key));
    messagesEl.replaceChildren();
    runs.clear();
    renderList();
    updateStop();
    if (connected()) load();
    inputEl.focus();
  }
  function newChat() {
    const stamp = new Date().toISOString().slice(0, 10).replace(/-/g, "");
    switchTo("agent:" + agentOf(session) + ":web-" + stamp + "-" + randomKey().slice(0, 6));
  }
  function openSidebar() { sidebar.classList.add("open"); scrim.hidden = false; menuBtn.setAttribute("aria-expanded", "true"); }
  function closeSidebar() { sidebar.classList.remove("open"); scrim.hidden = true; menuBtn.setAttribute("aria-expanded", "false"); }

  // ---- the connection ----
  function setStatus(state, detail) {
    statusEl.dataset.state = state;
    statusEl.textContent = detail || state;
    retryBtn.hidden = state !== "disconnected" || !token && !IS_STAFF;
    sendBtn.disabled = false;
  }
  function connect() {
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const sock = new WebSocket(proto + "//" + location.host + WS_PATH + (token ? "?token=" + encodeURIComponent(token) : ""));
    ws = sock;
    setStatus("connecting", "connecting…");
    sock.addEventListener("open", () => {
      if (ws !== sock) return;
      backoff = BACKOFF_MIN;
      setStatus("connected");
      load();
      refreshList();
    });
    sock.addEventListener("message", (ev) => {
      if (ws !== sock || typeof ev.data !== "string") return;
      let f;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      onFrame(f);
    });
    sock.addEventListener("close", (ev) => {
      if (ws !== sock) return;
      dropSocket();
      if (ev.code === 4401) { // refused: ask again rather than retry the same credentials
        token = null; store.clear();
        setStatus("disconnected", "token refused");
        return showTokenForm("The gateway refused this token.");
      }
      scheduleReconnect();
    });
  }
  function scheduleReconnect() {
    const delay = Math.round(backoff * (0.8 + Math.random() * 0.4));
    backoff = Math.min(backoff * 2, BACKOFF_MAX);
    setStatus("disconnected", "reconnecting in " + Math.ceil(delay / 1000) + " s");
    reconnectTimer = setTimeout(connect, delay);
  }
  function reconnectNow() {
    if (reconnectTimer === null || connected()) return;
    backoff = BACKOFF_MIN;
    connect();
  }
  function dropSocket() { // the runs go on at the gateway: keep their text, re-attach later
    const old = ws;
    ws = null;
    if (old && old.readyState < WebSocket.CLOSING) old.close();
    pending.clear();
    loading = null;
    for (const item of outbox.values()) item.sent = false;
    for (const r of runs.values()) if (!r.final && r.el.dataset.state === "streaming") r.el.dataset.state = "detached";
    updateStop();
  }
  function useToken(t) {
    token = t; store.set(t); tokenForm.hidden = true;
    dropSocket(); connect();
  }
  function showTokenForm(message) {
    tokenError.textContent = message || "";
    tokenInput.value = ""; tokenForm.hidden = false; tokenInput.focus();
  }

  // ---- wiring ----
  tokenForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (tokenInput.value.trim()) useToken(tokenInput.value.trim());
  });
  window.addEventListener("hashchange", () => { // a #token=... link opened on this page
    if (new URLSearchParams(location.hash.slice(1)).get("token")) useToken(takeToken());
  });
  window.addEventListener("popstate", () => switchTo(sessionFromUrl(), true));
  window.addEventListener("online", reconnectNow);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) reconnectNow(); });
  retryBtn.addEventListener("click", reconnectNow);
  inputEl.addEventListener("input", autosize);
  inputEl.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); send(); }
  });
  composer.addEventListener("submit", (ev) => { ev.preventDefault(); send(); });
  const fileInput = $("file-input"), mainEl = $("main");
  const attachments = Attachments({
    tray: $("attachments"), headers: authHeaders, session: () => session, changed: () => {},
  });
  $("attach").addEventListener("click", () => fileInput.click());
  fileInput.addEventListener("change", () => { attachments.add([...fileInput.files]); fileInput.value = ""; });
  mainEl.addEventListener("dragover", (ev) => {
    if (ev.dataTransfer && [...ev.dataTransfer.types].includes("Files")) { ev.preventDefault(); mainEl.classList.add("dropping"); }
  });
  mainEl.addEventListener("dragleave", () => mainEl.classList.remove("dropping"));
  mainEl.addEventListener("drop", (ev) => {
    mainEl.classList.remove("dropping");
    if (!ev.dataTransfer || !ev.dataTransfer.files.length) return;
    ev.preventDefault();
    attachments.add([...ev.dataTransfer.files]);
  });
  inputEl.addEventListener("paste", (ev) => { // a pasted screenshot or copied file
    const files = ev.clipboardData ? [...ev.clipboardData.files] : [];
    if (files.length) { ev.preventDefault(); attachments.add(files); }
  });
  stopBtn.addEventListener("click", () => {
    for (const r of live()) request("chat.abort", { run: r.run }, null, () => {});
    for (const item of outbox.values()) item.abort = item.session === session;
  });
  $("new-chat").addEventListener("click", newChat);
  menuBtn.addEventListener("click", () => (sidebar.classList.contains("open") ? closeSidebar() : openSidebar()));
  scrim.addEventListener("click", closeSidebar);
  document.addEventListener("keydown", (ev) => { if (ev.key === "Escape") closeSidebar(); });

  // For tests and debugging: the live socket (closing it is a dropped connection).
  window.openclawChat = { get socket() { return ws; } };

  renderList();
  token = takeToken();
  if (IS_STAFF || token) connect();
  else { setStatus("disconnected", "token required"); showTokenForm(""); }
})();
