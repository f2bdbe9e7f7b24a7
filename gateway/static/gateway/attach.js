// Files in the web chat: attach by button, drag-and-drop or paste; each file is uploaded at once
// over HTTP (POST /chat/media, never through the WebSocket) and waits in the tray as a thumbnail
// (images) or a card (anything else) until the message is sent with it. Stored files are shown
// by fetching them with the same credentials and displaying the bytes as a blob: URL (an <img>
// cannot send the token), so they are never reachable without it.
"use strict";
(function () {
  const UPLOAD = "/chat/media";

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function size(n) {
    if (n < 1024) return n + " B";
    if (n < 1024 * 1024) return Math.round(n / 1024) + " KB";
    return (n / 1024 / 1024).toFixed(1) + " MB";
  }

  // headers(): the auth headers ({} for a signed-in staff user: the cookie goes along).
  function Attachments(opts) {
    const tray = opts.tray, items = [];

    function render() {
      tray.hidden = items.length === 0;
      tray.replaceChildren(...items.map((i) => i.el));
    }
    function card(file) {
      const node = el("div", "attachment");
      if (file.type.startsWith("image/")) {
        const img = el("img", "thumb");
        img.alt = file.name;
        img.src = URL.createObjectURL(file);
        node.append(img);
      } else {
        node.append(el("span", "file-name", file.name), el("span", "file-meta", size(file.size)));
      }
      node.append(el("span", "attachment-status"));
      return node;
    }
    function add(files) {
      for (const file of files) {
        const item = { file, media: null, state: "uploading", el: card(file) };
        const remove = el("button", "attachment-remove", "\u00d7");
        remove.type = "button";
        remove.setAttribute("aria-label", "Remove " + file.name);
        remove.addEventListener("click", () => { items.splice(items.indexOf(item), 1); render(); });
        item.el.append(remove);
        item.el.dataset.state = "uploading";
        items.push(item);
        upload(item);
      }
      render();
    }
    function upload(item) {
      const form = new FormData();
      form.append("file", item.file, item.file.name);
      const url = UPLOAD + "?session=" + encodeURIComponent(opts.session());
      fetch(url, { method: "POST", body: form, headers: opts.headers(), credentials: "same-origin" })
        .then((res) => res.json().then((body) => ({ res, body })))
        .then(({ res, body }) => {
          if (!res.ok) throw new Error(body.error || "upload failed (" + res.status + ")");
          item.media = body; item.state = "ready";
        })
        .catch((e) => { item.state = "failed"; item.el.querySelector(".attachment-status").textContent = e.message; })
        .finally(() => { item.el.dataset.state = item.state; opts.changed(); });
    }
    return {
      add,
      busy() { return items.some((i) => i.state === "uploading"); },
      // The uploaded files, removed from the tray (failed ones stay, with their reason).
      take() {
        const ready = items.filter((i) => i.state === "ready");
        for (const i of ready) items.splice(items.indexOf(i), 1);
        render();
        return ready.map((i) => i.media);
      },
      // The tray follows the session: files uploaded for another one cannot go with it.
      clear() { items.length = 0; render(); },
    };
  }

  // A stored file of `session` as an element: an image (fetched, then shown from a blob: URL)
  // or a card that downloads it when clicked.
  function mediaNode(media, session, headers) {
    const url = "/chat/" + media.path + "?session=" + encodeURIComponent(session);
    const get = () => fetch(url, { headers: headers(), credentials: "same-origin" })
      .then((res) => { if (!res.ok) throw new Error("HTTP " + res.status); return res.blob(); });
    if (media.kind === "image") {
      const img = el("img", "media-image");
      img.alt = media.name || "image";
      get().then((blob) => { img.src = URL.createObjectURL(blob); })
        .catch(() => { img.replaceWith(el("span", "media-missing", (media.name || "image") + " (unavailable)")); });
      return img;
    }
    const node = el("button", "media-card");
    node.type = "button";
    node.append(el("span", "file-name", media.name || media.path.split("/").pop()),
      el("span", "file-meta", (media.mime || "") + (media.size ? ", " + size(media.size) : "")));
    node.addEventListener("click", () => get().then((blob) => {
      const a = el("a");
      a.href = URL.createObjectURL(blob);
      a.download = media.name || "file";
      a.click();
    }).catch(() => { node.disabled = true; }));
    return node;
  }

  // What a send_file result names: "Will send media/... (name, type, N bytes) with your answer."
  const SENT = /^Will send (media\/\S+) \((.*), ([^,()]+), ([\d,]+) bytes\)/;
  function sentFile(result) {
    const m = SENT.exec(result || "");
    if (!m) return null;
    const mime = m[3];
    const kind = mime.startsWith("image/") ? "image" : "document";
    return { path: m[1], name: m[2], mime, kind, size: Number(m[4].replace(/,/g, "")) };
  }

  window.OpenclawAttach = { Attachments, mediaNode, sentFile };
})();
