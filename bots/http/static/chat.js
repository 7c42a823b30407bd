/* askdesk chat widget: include on a docs page with
 *   <script src="https://askdesk.example.com/v1/chat.js" data-key="PUBLIC_KEY" defer></script>
 * Optional: data-title="Ask the docs", data-open="true" (start opened).
 * It talks to the API it was loaded from (POST /v1/ask, POST /v1/answers/{id}/vote); the
 * page's origin must be in the server's http_cors_origins. Everything lives in a shadow root,
 * so the page's CSS and the widget's never mix. No dependencies, no cookies. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var base = script.src.replace(/\/v1\/chat\.js(\?.*)?$/, "");
  var key = script.getAttribute("data-key") || "";
  var title = script.getAttribute("data-title") || "Ask the docs";
  var store = window.sessionStorage;
  var convKey = "askdesk:conversation:" + base;
  var visitor = localStorage.getItem("askdesk:visitor");
  if (!visitor) {
    visitor = "v-" + Math.random().toString(36).slice(2) + Date.now().toString(36);
    localStorage.setItem("askdesk:visitor", visitor);
  }

  var host = document.createElement("div");
  host.id = "askdesk-chat";
  var root = host.attachShadow({ mode: "open" });
  root.innerHTML =
    "<style>" +
    ":host{all:initial}" +
    ".launcher{position:fixed;right:20px;bottom:20px;z-index:2147483000;border:0;border-radius:24px;" +
    "padding:12px 18px;background:#1f4fd8;color:#fff;font:600 14px system-ui,sans-serif;cursor:pointer}" +
    ".panel{position:fixed;right:20px;bottom:76px;z-index:2147483000;width:min(380px,92vw);" +
    "height:min(520px,75vh);display:none;flex-direction:column;background:#fff;color:#111;" +
    "border:1px solid #ccd;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.2);" +
    "font:14px/1.45 system-ui,sans-serif}" +
    ".panel.open{display:flex}" +
    "header{padding:10px 14px;font-weight:600;border-bottom:1px solid #eee;display:flex;" +
    "justify-content:space-between}" +
    "header button{border:0;background:none;cursor:pointer;font-size:13px;color:#1f4fd8}" +
    ".log{flex:1;overflow:auto;padding:10px 14px}" +
    ".msg{margin:0 0 10px;white-space:pre-wrap;word-wrap:break-word}" +
    ".q{text-align:right;color:#1f4fd8}" +
    ".a pre{background:#f4f5f7;padding:6px;border-radius:6px;overflow:auto;white-space:pre}" +
    ".sources{font-size:12px;margin:4px 0 0;padding-left:18px}" +
    ".votes button,.reasons button{margin:4px 4px 0 0;border:1px solid #ccd;background:#fff;" +
    "border-radius:14px;padding:2px 10px;cursor:pointer}" +
    ".note{font-size:12px;color:#555;margin-top:4px}" +
    ".error{color:#b00020}" +
    "form{display:flex;gap:6px;padding:10px;border-top:1px solid #eee}" +
    "input{flex:1;padding:8px;border:1px solid #ccd;border-radius:8px;font:inherit}" +
    "form button{border:0;border-radius:8px;background:#1f4fd8;color:#fff;padding:0 14px;cursor:pointer}" +
    "textarea{width:100%;box-sizing:border-box;margin-top:4px;font:inherit}" +
    "</style>" +
    '<button class="launcher" part="launcher"></button>' +
    '<section class="panel" role="dialog" aria-label="">' +
    '<header><span class="title"></span><button class="new" type="button">New chat</button></header>' +
    '<div class="log" aria-live="polite"></div>' +
    '<form><input name="q" autocomplete="off" placeholder="Ask a question about the docs">' +
    '<button type="submit">Ask</button></form></section>';
  var launcher = root.querySelector(".launcher");
  var panel = root.querySelector(".panel");
  var log = root.querySelector(".log");
  var form = root.querySelector("form");
  var input = form.querySelector("input");
  launcher.textContent = title;
  root.querySelector(".title").textContent = title;
  panel.setAttribute("aria-label", title);

  launcher.addEventListener("click", function () {
    panel.classList.toggle("open");
    if (panel.classList.contains("open")) input.focus();
  });
  root.querySelector(".new").addEventListener("click", function () {
    store.removeItem(convKey);
    log.textContent = "";
  });
  if (script.getAttribute("data-open") === "true") panel.classList.add("open");

  function call(method, path, body) {
    var headers = { Authorization: "Bearer " + key };
    if (body) headers["Content-Type"] = "application/json";
    if (path === "/v1/ask") headers["Idempotency-Key"] = "w-" + Math.random().toString(36).slice(2);
    return fetch(base + path, { method: method, headers: headers, body: body ? JSON.stringify(body) : undefined })
      .then(function (r) {
        return r.json().then(function (data) {
          if (!r.ok) throw new Error(data && data.error ? data.error : "HTTP " + r.status);
          return data;
        }, function () { throw new Error("HTTP " + r.status); });
      });
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  function renderText(box, text) {
    // Markdown-light, never innerHTML: code fences become <pre>, the rest plain text.
    box.textContent = "";
    var parts = String(text).split(/```[a-z]*\n?/);
    parts.forEach(function (part, i) {
      if (!part) return;
      box.appendChild(i % 2 ? el("pre", null, part.replace(/\n$/, "")) : document.createTextNode(part));
    });
  }

  function addAnswer(data) {
    var wrap = el("div", "msg a");
    var text = el("div", "text");
    renderText(text, data.answer || "");
    wrap.appendChild(text);
    if (data.sources && data.sources.length) {
      var list = el("ol", "sources");
      data.sources.forEach(function (s) {
        var li = el("li");
        var label = s.title || s.path;
        if (s.url && /^https?:/i.test(s.url)) {
          var a = el("a", null, label);
          a.href = s.url;
          a.target = "_blank";
          a.rel = "noopener";
          li.appendChild(a);
        } else {
          li.textContent = label + (s.heading ? " › " + s.heading : "");
        }
        list.appendChild(li);
      });
      wrap.appendChild(list);
    }
    if (data.answer_id) addVotes(wrap, data.answer_id);
    log.appendChild(wrap);
    log.scrollTop = log.scrollHeight;
    if (data.style_pending && data.answer_id) pollStyled(data.answer_id, text, 0);
  }

  function pollStyled(id, box, tries) {
    if (tries > 10) return;
    setTimeout(function () {
      call("GET", "/v1/answers/" + id).then(function (a) {
        if (a.style_pending) return pollStyled(id, box, tries + 1);
        renderText(box, a.text);
      }, function () {});
    }, 1500);
  }

  function addVotes(wrap, id) {
    var votes = el("div", "votes");
    var up = el("button", "up", "👍");
    var down = el("button", "down", "👎");
    up.setAttribute("aria-label", "Helpful");
    down.setAttribute("aria-label", "Not helpful");
    var note = el("div", "note");
    votes.appendChild(up);
    votes.appendChild(down);
    wrap.appendChild(votes);
    wrap.appendChild(note);
    function vote(body) {
      return call("POST", "/v1/answers/" + id + "/vote", body).then(function (r) {
        note.classList.remove("error");
        note.textContent = r.message || "";
        return r;
      }, function (err) {
        note.classList.add("error");
        note.textContent = err.message;
        throw err;
      });
    }
    up.addEventListener("click", function () { vote({ vote: "up", user: visitor }); });
    down.addEventListener("click", function () {
      vote({ vote: "down", user: visitor }).then(function (r) {
        var old = wrap.querySelector(".reasons");
        if (old) old.remove();
        var reasons = el("div", "reasons");
        (r.reasons || []).forEach(function (reason) {
          var b = el("button", null, reason.label);
          b.setAttribute("data-reason", reason.code);
          b.addEventListener("click", function () {
            vote({ vote: "down", reason: reason.code, user: visitor }).then(function () {
              reasons.textContent = "";
              var box = el("textarea");
              box.setAttribute("placeholder", "Anything to add? (optional)");
              box.maxLength = 2000;
              var send = el("button", "send-comment", "Send");
              send.addEventListener("click", function () {
                vote({ vote: "down", reason: reason.code, comment: box.value, user: visitor })
                  .then(function () { reasons.remove(); }, function () {});
              });
              reasons.appendChild(box);
              reasons.appendChild(send);
            }, function () {});
          });
          reasons.appendChild(b);
        });
        wrap.appendChild(reasons);
      }, function () {});
    });
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var q = input.value.trim();
    if (!q) return;
    input.value = "";
    log.appendChild(el("div", "msg q", q));
    var waiting = el("div", "msg note", "Looking in the docs…");
    log.appendChild(waiting);
    var body = { question: q, user: visitor };
    var conv = store.getItem(convKey);
    if (conv) body.conversation_id = conv;
    call("POST", "/v1/ask", body).then(function (data) {
      waiting.remove();
      if (data.conversation_id) store.setItem(convKey, data.conversation_id);
      if (data.answer_id || data.answer) addAnswer(data);
    }, function (err) {
      if (/conversation not found/.test(err.message)) store.removeItem(convKey);
      waiting.className = "msg error";
      waiting.textContent = err.message;
    });
  });

  (document.body || document.documentElement).appendChild(host);
})();
