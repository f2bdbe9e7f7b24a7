// A small, safe Markdown renderer for the web chat: model output becomes DOM nodes built with
// createElement and textContent only (never innerHTML), links keep http(s)/mailto targets only,
// and a message re-renders block by block, so while it streams only the last block changes.
"use strict";
(function () {
  const LINK_SCHEMES = new Set(["http:", "https:", "mailto:"]);
  const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$/;
  const HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
  const RULE = /^ {0,3}([-*_])(?:\s*\1){2,}\s*$/;
  const QUOTE = /^ {0,3}> ?/;
  const ITEM = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/;
  const TABLE_SEP = /^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$/;

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function safeHref(raw) {
    try {
      const url = new URL(raw);
      return LINK_SCHEMES.has(url.protocol) ? url.href : null;
    } catch (e) {
      return null; // relative or malformed: shown as text
    }
  }
  function link(href, children) {
    const a = el("a");
    a.href = href; a.target = "_blank"; a.rel = "noopener noreferrer nofollow";
    a.append(...children);
    return a;
  }

  // ---- inline: code spans, bold, italic, strike, links, bare URLs, line breaks ----
  const INLINE = new RegExp([
    "(`+)([^`]|[^`][\\s\\S]*?[^`])\\1(?!`)", // 1,2 code span
    "\\*\\*(?=\\S)([\\s\\S]*?\\S)\\*\\*", // 3 bold
    "__(?=\\S)([\\s\\S]*?\\S)__(?!\\w)", // 4 bold
    "~~(?=\\S)([\\s\\S]*?\\S)~~", // 5 strike
    "\\*(?=[^\\s*])([\\s\\S]*?[^\\s*])\\*(?!\\*)", // 6 italic
    "(?<![\\w])_(?=[^\\s_])([\\s\\S]*?[^\\s_])_(?![\\w])", // 7 italic
    "\\[([^\\]\\n]+)\\]\\(\\s*<?([^\\s()<>]+(?:\\([^\\s()]*\\))?)>?(?:\\s+\"[^\"\\n]*\")?\\s*\\)", // 8,9 link
    "<?((?:https?:\\/\\/|mailto:)[^\\s<>]*[^\\s<>.,:;\"'!?)\\]])>?", // 10 bare URL
    "(\\n)", // 11 line break
  ].join("|"), "g");

  function inline(text) {
    const out = [];
    let last = 0, m;
    const re = new RegExp(INLINE.source, "g"); // a fresh one: inline() recurses
    while ((m = re.exec(text)) !== null) {
      if (m.index > last) out.push(document.createTextNode(text.slice(last, m.index)));
      last = re.lastIndex;
      if (m[1] !== undefined) out.push(el("code", null, m[2].replace(/^ (.*) $/, "$1")));
      else if (m[3] !== undefined || m[4] !== undefined) wrap(out, "strong", m[3] ?? m[4]);
      else if (m[5] !== undefined) wrap(out, "del", m[5]);
      else if (m[6] !== undefined || m[7] !== undefined) wrap(out, "em", m[6] ?? m[7]);
      else if (m[8] !== undefined) {
        const href = safeHref(m[9]);
        if (href) out.push(link(href, inline(m[8])));
        else out.push(document.createTextNode(m[0]));
      } else if (m[10] !== undefined) {
        const href = safeHref(m[10]);
        out.push(href ? link(href, [document.createTextNode(m[10])]) : document.createTextNode(m[0]));
      } else out.push(el("br"));
    }
    if (last < text.length) out.push(document.createTextNode(text.slice(last)));
    return out;
  }
  function wrap(out, tag, inner) {
    const node = el(tag);
    node.append(...inline(inner));
    out.push(node);
  }

  // ---- blocks: split the source into top-level blocks, each with its own source text ----
  function splitBlocks(src) {
    const lines = src.split("\n"), blocks = [];
    let i = 0;
    const push = (kind, from, to, extra) => blocks.push({ kind, src: lines.slice(from, to).join("\n"), ...extra });
    while (i < lines.length) {
      const line = lines[i];
      if (!line.trim()) { i++; continue; }
      const fence = FENCE.exec(line);
      if (fence) {
        const marker = fence[1], start = i;
        let j = i + 1, closed = false;
        while (j < lines.length) {
          const t = lines[j].trim();
          if (t.startsWith(marker[0].repeat(marker.length)) && /^(`{3,}|~{3,})$/.test(t)) { closed = true; break; }
          j++;
        }
        const body = lines.slice(start + 1, j).join("\n");
        blocks.push({ kind: "code", src: lines.slice(start, closed ? j + 1 : j).join("\n"), lang: fence[2], body, open: !closed });
        i = closed ? j + 1 : j;
        continue;
      }
      if (HEADING.test(line)) { push("heading", i, i + 1); i++; continue; }
      if (RULE.test(line)) { push("rule", i, i + 1); i++; continue; }
      if (QUOTE.test(line)) {
        const start = i;
        while (i < lines.length && lines[i].trim() && QUOTE.test(lines[i])) i++;
        push("quote", start, i);
        continue;
      }
      const item = ITEM.exec(line);
      if (item && !RULE.test(line)) {
        const start = i, indent = item[1].length;
        i++;
        while (i < lines.length) {
          const l = lines[i];
          if (!l.trim()) { // a blank line continues the list only if more of it follows
            const next = lines[i + 1];
            const nextItem = next !== undefined ? ITEM.exec(next) : null;
            if (next !== undefined && ((nextItem && nextItem[1].length >= indent) || /^\s{2,}\S/.test(next))) { i++; continue; }
            break;
          }
          const it = ITEM.exec(l);
          if (it && it[1].length < indent) break;
          if (!it && !/^\s/.test(l) && (FENCE.test(l) || HEADING.test(l) || QUOTE.test(l))) break;
          i++;
        }
        push("list", start, i);
        continue;
      }
      if (line.includes("|") && i + 1 < lines.length && TABLE_SEP.test(lines[i + 1]) && lines[i + 1].includes("-")) {
        const start = i;
        i += 2;
        while (i < lines.length && lines[i].trim() && lines[i].includes("|")) i++;
        push("table", start, i);
        continue;
      }
      const start = i;
      i++;
      while (i < lines.length && lines[i].trim() && !FENCE.test(lines[i]) && !HEADING.test(lines[i])
             && !QUOTE.test(lines[i]) && !RULE.test(lines[i])) {
        if (ITEM.test(lines[i]) && /^(\s*)([-*+]|1[.)])\s/.test(lines[i])) break;
        i++;
      }
      push("para", start, i);
    }
    return blocks;
  }

  function renderBlock(b, copy) {
    switch (b.kind) {
      case "code": return codeBlock(b, copy);
      case "heading": {
        const m = HEADING.exec(b.src), h = el("h" + Math.min(m[1].length + 2, 6), "md-h");
        h.append(...inline(m[2]));
        return h;
      }
      case "rule": return el("hr");
      case "quote": {
        const q = el("blockquote");
        q.append(...renderAll(b.src.split("\n").map((l) => l.replace(QUOTE, "")).join("\n"), copy));
        return q;
      }
      case "list": return list(b.src, copy);
      case "table": return table(b.src);
      default: {
        const p = el("p");
        p.append(...inline(b.src.replace(/^ +/gm, "")));
        return p;
      }
    }
  }
  function renderAll(src, copy) { return splitBlocks(src).map((b) => renderBlock(b, copy)); }

  function codeBlock(b, copy) {
    const box = el("div", "code"), head = el("div", "code-head"), pre = el("pre"), code = el("code");
    head.append(el("span", "code-lang", b.lang || "text"));
    const btn = el("button", "copy", "Copy");
    btn.type = "button";
    btn.setAttribute("aria-label", "Copy code" + (b.lang ? " (" + b.lang + ")" : ""));
    btn.addEventListener("click", () => copy(b.body, btn));
    head.append(btn);
    if (b.lang) code.dataset.lang = b.lang;
    code.textContent = b.body;
    pre.append(code);
    box.append(head, pre);
    return box;
  }

  function list(src, copy) {
    const lines = src.split("\n"), first = ITEM.exec(lines[0]), indent = first[1].length;
    const ordered = /\d/.test(first[2]), node = el(ordered ? "ol" : "ul");
    if (ordered && parseInt(first[2], 10) !== 1) node.start = parseInt(first[2], 10);
    const items = [];
    for (const line of lines) {
      const m = ITEM.exec(line);
      if (m && m[1].length <= indent + 1) items.push([m[3]]);
      else if (items.length) items[items.length - 1].push(line.replace(new RegExp("^\\s{0," + (indent + 4) + "}"), ""));
    }
    const loose = /\n\s*\n\s*\S/.test(src);
    for (const parts of items) {
      const li = el("li"), body = parts.join("\n").replace(/\n+$/, "");
      const task = /^\[([ xX])\]\s+/.exec(body);
      if (task) {
        const box = el("input");
        box.type = "checkbox"; box.disabled = true; box.checked = task[1] !== " ";
        li.append(box, " ");
      }
      const rest = task ? body.slice(task[0].length) : body, blocks = splitBlocks(rest);
      if (!loose && blocks.length && blocks[0].kind === "para") { // a tight item: no paragraph box
        li.append(...inline(blocks[0].src));
        li.append(...blocks.slice(1).map((b) => renderBlock(b, copy)));
      } else li.append(...blocks.map((b) => renderBlock(b, copy)));
      node.append(li);
    }
    return node;
  }

  function cells(row) {
    return row.trim().replace(/^\|/, "").replace(/\|$/, "").split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, "|"));
  }
  function table(src) {
    const rows = src.split("\n"), head = cells(rows[0]);
    const align = cells(rows[1]).map((c) => (c.endsWith(":") ? (c.startsWith(":") ? "center" : "right") : c.startsWith(":") ? "left" : ""));
    const wrapBox = el("div", "table"), t = el("table"), thead = el("thead"), tbody = el("tbody"), tr = el("tr");
    head.forEach((c, i) => { const th = el("th"); th.append(...inline(c)); if (align[i]) th.style.textAlign = align[i]; tr.append(th); });
    thead.append(tr);
    for (const row of rows.slice(2)) {
      const r = el("tr");
      cells(row).slice(0, head.length).forEach((c, i) => { const td = el("td"); td.append(...inline(c)); if (align[i]) td.style.textAlign = align[i]; r.append(td); });
      tbody.append(r);
    }
    t.append(thead, tbody);
    wrapBox.append(t);
    return wrapBox;
  }

  // A view of one message: `update(text)` keeps the DOM of the blocks that did not change.
  class MarkdownView {
    constructor(container, copy) { this.container = container; this.copy = copy; this.blocks = []; }
    update(text) {
      const next = splitBlocks(text);
      let same = 0;
      while (same < next.length && same < this.blocks.length && next[same].src === this.blocks[same].src
             && next[same].kind === this.blocks[same].kind) same++;
      for (const old of this.blocks.splice(same)) old.node.remove();
      for (const b of next.slice(same)) {
        b.node = renderBlock(b, this.copy);
        this.container.append(b.node);
        this.blocks.push(b);
      }
    }
  }

  window.OpenclawMarkdown = { MarkdownView, renderAll, inline, safeHref };
})();
