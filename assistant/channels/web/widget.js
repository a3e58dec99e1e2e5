/*
 * 江澜银行助手 · Jianglan Bank assistant — intranet chat widget.
 *
 * A host page includes it once:
 *   <script src="/widget.js" data-token="SIGNED_JWT" data-api="" data-lang="zh-CN"></script>
 *
 * data-token  the intranet's signed token for the signed-in user: the only source of identity.
 * data-api    base URL of the assistant API; empty means the page's own origin.
 * data-lang   the widget's language tag (default zh-CN).
 *
 * No dependencies and no third-party requests. Server text is only ever set as textContent.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || window.__jlWidgetLoaded) {
    return;
  }
  window.__jlWidgetLoaded = true;

  var config = script.dataset || {};
  var TOKEN = (config.token || "").trim();
  var API = (config.api || "").replace(/\/+$/, "");
  var LANG = config.lang || "zh-CN";

  var T = {
    title: "江澜银行助手 · Assistant",
    subtitle: "内网专用 · Intranet only",
    open: "打开江澜银行助手 · Open the assistant",
    close: "关闭 · Close",
    newChat: "新对话 · New chat",
    placeholder: "请输入您的问题… · Ask a question…",
    inputLabel: "您的问题 · Your question",
    send: "发送 · Send",
    hint: "Enter 发送，Shift+Enter 换行 · Enter to send, Shift+Enter for a new line",
    welcome:
      "您好！我可以解答本行产品、业务流程与制度问题，回答均附出处。\n" +
      "Hello! Ask about our products, procedures and policies; every answer cites its sources.",
    thinking: "正在查询… · Looking it up…",
    you: "您 · You",
    assistant: "助手 · Assistant",
    sources: "参考来源 · Sources",
    section: "章节 · Section",
    validity: "有效期 · Valid",
    openEnded: "长期 · open-ended",
    helpful: "有帮助 · Helpful",
    unhelpful: "没有帮助 · Not helpful",
    thanks: "谢谢反馈 · Thanks",
    handoff: "已转人工 · Handed over to staff",
    reference: "编号 · Reference",
    noToken: "未获取到登录凭证，请刷新页面重新登录。· Not signed in: reload the page.",
    network: "网络异常，请稍后再试。· Network problem, please try again.",
    failed: "请求未能完成，请稍后再试。· The request could not be completed.",
    incomplete: "回答未完整返回，请重试。· The answer was cut off, please try again.",
    disclaimer: "仅供参考，以本行正式公告为准 · For reference only",
  };

  var FONT =
    '"Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Micro Hei", "Microsoft YaHei", ' +
    '"PingFang SC", sans-serif';

  var CSS = [
    "#jl-widget-root, #jl-widget-root * { box-sizing: border-box; }",
    "#jl-widget-root { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000;",
    "  font-family: " + FONT + "; font-size: 14px; line-height: 1.6; color: #1f2933;",
    "  text-align: left; letter-spacing: normal; pointer-events: none; display: flex;",
    "  flex-direction: column; align-items: flex-end; }",
    "#jl-widget-root > * { pointer-events: auto; }",
    "#jl-widget-root button, #jl-widget-root textarea { font: inherit; color: inherit;",
    "  margin: 0; }",
    "#jl-widget-root :focus-visible { outline: 2px solid #f0b429; outline-offset: 2px; }",
    "#jl-widget-bubble { width: 58px; height: 58px; border-radius: 50%; border: 0;",
    "  background: #0b4f8a; color: #fff; cursor: pointer; display: flex; align-items: center;",
    "  justify-content: center; box-shadow: 0 6px 18px rgba(11, 79, 138, .35);",
    "  transition: transform .15s ease, background .15s ease; }",
    "#jl-widget-bubble:hover { background: #093f6e; transform: translateY(-1px); }",
    "#jl-widget-bubble svg { width: 28px; height: 28px; fill: #fff; }",
    "#jl-widget-bubble[aria-expanded='true'] { display: none; }",
    "#jl-widget-panel { width: 380px; height: 600px; max-width: calc(100vw - 24px);",
    "  max-height: calc(100vh - 40px); background: #fff; border-radius: 14px;",
    "  box-shadow: 0 12px 40px rgba(15, 23, 42, .25); display: flex; flex-direction: column;",
    "  overflow: hidden; border: 1px solid #d9e2ec; }",
    "#jl-widget-panel[hidden] { display: none; }",
    "#jl-widget-panel .jl-header { background: #0b4f8a; color: #fff; padding: 12px 14px;",
    "  display: flex; align-items: center; gap: 10px; }",
    "#jl-widget-panel .jl-logo { width: 32px; height: 32px; border-radius: 8px;",
    "  background: #f0b429; color: #0b4f8a; font-weight: 700; display: flex;",
    "  align-items: center; justify-content: center; flex: none; }",
    "#jl-widget-panel .jl-heading { flex: 1; min-width: 0; }",
    "#jl-widget-panel .jl-title { margin: 0; font-size: 15px; font-weight: 600;",
    "  line-height: 1.3; color: #fff; }",
    "#jl-widget-panel .jl-subtitle { font-size: 12px; opacity: .8; }",
    "#jl-widget-panel .jl-icon-btn { background: transparent; border: 0; color: #fff;",
    "  cursor: pointer; border-radius: 6px; padding: 4px 8px; font-size: 12px; }",
    "#jl-widget-panel .jl-icon-btn:hover { background: rgba(255, 255, 255, .15); }",
    "#jl-widget-panel .jl-close { font-size: 20px; line-height: 1; }",
    "#jl-widget-panel .jl-messages { flex: 1; overflow-y: auto; padding: 14px;",
    "  background: #f5f7fa; display: flex; flex-direction: column; gap: 10px; }",
    "#jl-widget-panel .jl-msg { max-width: 88%; padding: 9px 12px; border-radius: 12px;",
    "  white-space: pre-wrap; word-break: break-word; overflow-wrap: anywhere; }",
    "#jl-widget-panel .jl-msg-user { align-self: flex-end; background: #0b4f8a; color: #fff;",
    "  border-bottom-right-radius: 4px; }",
    "#jl-widget-panel .jl-msg-assistant { align-self: flex-start; background: #fff;",
    "  border: 1px solid #e4e7eb; border-bottom-left-radius: 4px; }",
    "#jl-widget-panel .jl-msg-assistant[aria-busy='true'] .jl-text { color: #7b8794; }",
    "#jl-widget-panel .jl-msg-welcome { color: #52606d; }",
    "#jl-widget-panel .jl-sources { margin-top: 8px; padding-top: 6px;",
    "  border-top: 1px dashed #d9e2ec; white-space: normal; }",
    "#jl-widget-panel .jl-citations { margin: 2px 0 0; padding: 0; list-style: none; }",
    "#jl-widget-panel .jl-citations-label { font-size: 12px; color: #7b8794; }",
    "#jl-widget-panel .jl-citation { font-size: 12.5px; margin: 4px 0; }",
    "#jl-widget-panel .jl-citation summary { cursor: pointer; color: #0b4f8a; }",
    "#jl-widget-panel .jl-citation summary:hover { text-decoration: underline; }",
    "#jl-widget-panel .jl-passage { margin: 6px 0 4px; padding: 6px 8px; background: #f5f7fa;",
    "  border-left: 3px solid #9fb3c8; color: #3e4c59; white-space: pre-wrap; }",
    "#jl-widget-panel .jl-meta { font-size: 11.5px; color: #7b8794; margin-top: 2px; }",
    "#jl-widget-panel .jl-handoff { margin-top: 8px; padding: 8px; border-radius: 8px;",
    "  background: #fffbea; border: 1px solid #f0b429; font-size: 12.5px;",
    "  white-space: pre-wrap; }",
    "#jl-widget-panel .jl-feedback { display: flex; align-items: center; gap: 6px;",
    "  margin-top: 8px; white-space: normal; }",
    "#jl-widget-panel .jl-feedback button { border: 1px solid #d9e2ec; background: #fff;",
    "  border-radius: 14px; padding: 2px 10px; cursor: pointer; font-size: 12px;",
    "  color: #52606d; display: inline-flex; align-items: center; gap: 4px; }",
    "#jl-widget-panel .jl-feedback svg { width: 14px; height: 14px; fill: currentColor; }",
    "#jl-widget-panel .jl-feedback-up:hover:not(:disabled) { color: #0b4f8a; }",
    "#jl-widget-panel .jl-feedback-down:hover:not(:disabled) { color: #ba2525; }",
    "#jl-widget-panel .jl-feedback button:hover:not(:disabled) { background: #f0f4f8; }",
    "#jl-widget-panel .jl-feedback button:disabled { opacity: .5; cursor: default; }",
    "#jl-widget-panel .jl-feedback-done { font-size: 12px; color: #27ab83; }",
    "#jl-widget-panel .jl-error { color: #ba2525; background: #ffeeee;",
    "  border: 1px solid #f29b9b; border-radius: 8px; padding: 6px 10px; font-size: 12.5px;",
    "  white-space: pre-wrap; align-self: stretch; }",
    "#jl-widget-panel .jl-composer { border-top: 1px solid #e4e7eb; padding: 10px;",
    "  background: #fff; }",
    "#jl-widget-panel .jl-row { display: flex; gap: 8px; align-items: flex-end; }",
    "#jl-widget-input { flex: 1; resize: none; min-height: 40px; max-height: 120px;",
    "  border: 1px solid #bcccdc; border-radius: 10px; padding: 8px 10px; background: #fff;",
    "  line-height: 1.5; }",
    "#jl-widget-input:focus { border-color: #0b4f8a; outline: none;",
    "  box-shadow: 0 0 0 3px rgba(11, 79, 138, .15); }",
    "#jl-widget-send { border: 0; border-radius: 10px; background: #0b4f8a; color: #fff;",
    "  padding: 0 14px; height: 40px; cursor: pointer; white-space: nowrap; flex: none; }",
    "#jl-widget-send:hover:not(:disabled) { background: #093f6e; }",
    "#jl-widget-send:disabled { background: #9fb3c8; cursor: default; }",
    "#jl-widget-panel .jl-hint { font-size: 11px; color: #9aa5b1; margin-top: 6px; }",
    "#jl-widget-panel .jl-sr-only { position: absolute; width: 1px; height: 1px;",
    "  overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }",
    "@media (max-width: 480px) {",
    "  #jl-widget-root { right: 8px; bottom: 8px; left: 8px; }",
    "  #jl-widget-panel { width: 100%; max-width: none; height: calc(100vh - 16px); }",
    "}",
  ].join("\n");

  // --- small DOM helpers: text only, never HTML from the server -----------------------------

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (name) {
        if (name === "className") {
          node.className = attrs[name];
        } else {
          node.setAttribute(name, attrs[name]);
        }
      });
    }
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
    }
    return node;
  }

  var SVG_NS = "http://www.w3.org/2000/svg";
  // Icons are drawn here rather than taken from an emoji font, which many desktops lack.
  // Thumb shapes after Material Design Icons (Apache License 2.0).
  var ICONS = {
    chat:
      "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 " +
      "6.5a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 " +
      "0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3z",
    up:
      "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 " +
      "1 7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c" +
      ".09-.23.14-.47.14-.73v-2z",
    down:
      "M15 3H6c-.83 0-1.54.5-1.84 1.22l-3.02 7.05c-.09.23-.14.47-.14.73v2c0 1.1.9 2 2 2h6.31l" +
      "-.95 4.57-.03.32c0 .41.17.79.44 1.06L9.83 23l6.59-6.59c.36-.36.58-.86.58-1.41V5c0-1.1" +
      "-.9-2-2-2zm4 0v12h4V3h-4z",
  };

  function icon(name) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var shape = document.createElementNS(SVG_NS, "path");
    shape.setAttribute("d", ICONS[name]);
    svg.appendChild(shape);
    return svg;
  }

  function headers() {
    return { Authorization: "Bearer " + TOKEN, "Content-Type": "application/json" };
  }

  // The server's `{"error": {"code", "message"}}`, or a plain line when there is none.
  function errorMessage(response) {
    return response
      .json()
      .then(function (body) {
        var message = body && body.error && body.error.message;
        return typeof message === "string" && message ? message : T.failed;
      })
      .catch(function () {
        return T.failed + " (HTTP " + response.status + ")";
      });
  }

  // --- the widget ------------------------------------------------------------------------------

  var sessionId = null;
  var busy = false;

  var style = el("style", { id: "jl-widget-style" });
  style.textContent = CSS;

  var root = el("div", { id: "jl-widget-root", lang: LANG });

  var bubble = el("button", {
    id: "jl-widget-bubble",
    type: "button",
    "aria-label": T.open,
    title: T.open,
    "aria-expanded": "false",
    "aria-controls": "jl-widget-panel",
  });
  bubble.appendChild(icon("chat"));

  var panel = el("section", {
    id: "jl-widget-panel",
    role: "dialog",
    "aria-modal": "false",
    "aria-labelledby": "jl-widget-title",
  });
  panel.hidden = true;

  var header = el("div", { className: "jl-header" });
  header.appendChild(el("div", { className: "jl-logo", "aria-hidden": "true" }, "澜"));
  var heading = el("div", { className: "jl-heading" });
  heading.appendChild(el("h2", { className: "jl-title", id: "jl-widget-title" }, T.title));
  heading.appendChild(el("div", { className: "jl-subtitle" }, T.subtitle));
  header.appendChild(heading);
  var newChat = el(
    "button",
    { type: "button", className: "jl-icon-btn jl-new", title: T.newChat },
    "新对话"
  );
  newChat.setAttribute("aria-label", T.newChat);
  header.appendChild(newChat);
  var closeBtn = el(
    "button",
    { type: "button", className: "jl-icon-btn jl-close", "aria-label": T.close, title: T.close },
    "×"
  );
  header.appendChild(closeBtn);

  var list = el("div", {
    className: "jl-messages",
    id: "jl-widget-messages",
    role: "log",
    "aria-live": "polite",
    "aria-relevant": "additions",
    "aria-busy": "false",
    tabindex: "0",
  });

  var composer = el("form", { className: "jl-composer", novalidate: "novalidate" });
  var label = el("label", { for: "jl-widget-input", className: "jl-sr-only" }, T.inputLabel);
  var row = el("div", { className: "jl-row" });
  var input = el("textarea", {
    id: "jl-widget-input",
    rows: "1",
    placeholder: T.placeholder,
    "aria-describedby": "jl-widget-hint",
    maxlength: "2000",
    autocomplete: "off",
  });
  var send = el("button", { id: "jl-widget-send", type: "submit", "aria-label": T.send }, "发送");
  row.appendChild(input);
  row.appendChild(send);
  composer.appendChild(label);
  composer.appendChild(row);
  composer.appendChild(el("div", { className: "jl-hint", id: "jl-widget-hint" }, T.disclaimer));

  panel.appendChild(header);
  panel.appendChild(list);
  panel.appendChild(composer);
  root.appendChild(panel);
  root.appendChild(bubble);

  function scrollToEnd() {
    list.scrollTop = list.scrollHeight;
  }

  function welcome() {
    var note = el("div", { className: "jl-msg jl-msg-assistant jl-msg-welcome" });
    note.appendChild(el("span", { className: "jl-text" }, T.welcome));
    list.appendChild(note);
  }

  function showError(message, where) {
    var line = el("div", { className: "jl-error", role: "alert" }, message);
    (where || list).appendChild(line);
    scrollToEnd();
    return line;
  }

  function setBusy(value, bubbleNode) {
    busy = value;
    list.setAttribute("aria-busy", value ? "true" : "false");
    if (bubbleNode) {
      bubbleNode.setAttribute("aria-busy", value ? "true" : "false");
    }
    send.disabled = value;
  }

  function openPanel() {
    panel.hidden = false;
    bubble.setAttribute("aria-expanded", "true");
    input.focus();
    scrollToEnd();
  }

  function closePanel() {
    panel.hidden = true;
    bubble.setAttribute("aria-expanded", "false");
    bubble.focus();
  }

  function autoGrow() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 120) + "px";
  }

  function renderCitations(node, citations) {
    if (!citations || !citations.length) {
      return;
    }
    var wrap = el("div", { className: "jl-sources" });
    wrap.appendChild(el("div", { className: "jl-citations-label" }, T.sources));
    var ol = el("ol", { className: "jl-citations", "aria-label": T.sources });
    citations.forEach(function (c) {
      var item = el("li", { className: "jl-citation", "data-doc-id": String(c.doc_id || "") });
      var details = el("details");
      details.appendChild(el("summary", null, "[" + c.n + "] " + (c.title || c.doc_id || "")));
      var meta = [];
      if (c.section) {
        meta.push(T.section + "：" + c.section);
      }
      if (c.effective_from || c.effective_to) {
        meta.push(
          T.validity + "：" + (c.effective_from || "—") + " ~ " + (c.effective_to || T.openEnded)
        );
      }
      if (meta.length) {
        details.appendChild(el("div", { className: "jl-meta" }, meta.join(" · ")));
      }
      details.appendChild(el("blockquote", { className: "jl-passage" }, c.passage || ""));
      item.appendChild(details);
      ol.appendChild(item);
    });
    wrap.appendChild(ol);
    node.appendChild(wrap);
  }

  function renderHandoff(node, handoff) {
    if (!handoff) {
      return;
    }
    var box = el("div", { className: "jl-handoff", role: "status" });
    box.appendChild(el("strong", null, T.handoff));
    if (handoff.reference) {
      box.appendChild(document.createTextNode("\n" + T.reference + "：" + handoff.reference));
    }
    if (handoff.next_steps) {
      box.appendChild(document.createTextNode("\n" + handoff.next_steps));
    }
    node.appendChild(box);
  }

  function renderFeedback(node, turnId) {
    if (!turnId) {
      return;
    }
    var bar = el("div", { className: "jl-feedback" });
    function thumb(rating, emoji, label, text) {
      var button = el("button", {
        type: "button",
        className: "jl-feedback-" + rating,
        "aria-label": emoji + " " + label,
        title: label,
      });
      button.appendChild(icon(rating));
      button.appendChild(el("span", null, text));
      return button;
    }
    var up = thumb("up", "👍", T.helpful, "有帮助");
    var down = thumb("down", "👎", T.unhelpful, "没帮助");
    bar.appendChild(up);
    bar.appendChild(down);

    function rate(rating) {
      up.disabled = true;
      down.disabled = true;
      var old = bar.querySelector(".jl-error");
      if (old) {
        bar.removeChild(old);
      }
      fetch(API + "/v1/feedback", {
        method: "POST",
        headers: headers(),
        body: JSON.stringify({ turn_id: turnId, rating: rating, comment: "" }),
      })
        .then(function (response) {
          if (response.status === 201 || response.ok) {
            bar.appendChild(el("span", { className: "jl-feedback-done", role: "status" }, T.thanks));
            return null;
          }
          return errorMessage(response).then(function (message) {
            up.disabled = false;
            down.disabled = false;
            showError(message, bar);
          });
        })
        .catch(function () {
          up.disabled = false;
          down.disabled = false;
          showError(T.network, bar);
        });
    }

    up.addEventListener("click", function () {
      rate("up");
    });
    down.addEventListener("click", function () {
      rate("down");
    });
    node.appendChild(bar);
  }

  function finishTurn(node, text, turn) {
    text.textContent = typeof turn.answer === "string" ? turn.answer : "";
    if (turn.session_id) {
      sessionId = turn.session_id;
    }
    node.setAttribute("data-turn-id", String(turn.turn_id || ""));
    node.setAttribute("data-grounded", turn.grounded ? "true" : "false");
    renderCitations(node, turn.citations);
    renderHandoff(node, turn.handoff);
    renderFeedback(node, turn.turn_id);
  }

  // Reads `event: NAME\ndata: JSON\n\n` blocks off the response body; calls onEvent per block.
  function readEvents(response, onEvent) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder("utf-8");
    var buffer = "";

    function dispatch(block) {
      var name = "message";
      var data = [];
      block.split("\n").forEach(function (line) {
        if (line.indexOf("event:") === 0) {
          name = line.slice(6).trim();
        } else if (line.indexOf("data:") === 0) {
          data.push(line.slice(5).replace(/^ /, ""));
        }
      });
      if (!data.length) {
        return;
      }
      var payload;
      try {
        payload = JSON.parse(data.join("\n"));
      } catch (error) {
        return;
      }
      onEvent(name, payload);
    }

    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) {
          buffer += decoder.decode();
        } else {
          buffer += decoder.decode(chunk.value, { stream: true });
        }
        buffer = buffer.replace(/\r\n?/g, "\n");
        var end = buffer.indexOf("\n\n");
        while (end !== -1) {
          dispatch(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf("\n\n");
        }
        if (chunk.done) {
          if (buffer.trim()) {
            dispatch(buffer);
          }
          return null;
        }
        return pump();
      });
    }

    return pump();
  }

  function ask(message) {
    list.appendChild(el("div", { className: "jl-msg jl-msg-user" }, message));
    var node = el("div", { className: "jl-msg jl-msg-assistant", "aria-busy": "true" });
    var text = el("span", { className: "jl-text" }, T.thinking);
    node.appendChild(text);
    list.appendChild(node);
    scrollToEnd();

    if (!TOKEN) {
      list.removeChild(node);
      showError(T.noToken);
      return;
    }

    setBusy(true, node);
    var started = false;
    var done = false;
    var body = { message: message, stream: true };
    if (sessionId) {
      body.session_id = sessionId;
    }

    function fail(messageText) {
      if (!started && node.parentNode) {
        list.removeChild(node);
      }
      showError(messageText);
    }

    fetch(API + "/v1/chat", { method: "POST", headers: headers(), body: JSON.stringify(body) })
      .then(function (response) {
        if (!response.ok) {
          return errorMessage(response).then(fail);
        }
        var type = response.headers.get("content-type") || "";
        if (type.indexOf("text/event-stream") === -1 || !response.body) {
          // A server that answered in one piece: the JSON is the whole turn.
          return response.json().then(function (turn) {
            started = true;
            done = true;
            finishTurn(node, text, turn);
          });
        }
        return readEvents(response, function (name, data) {
          if (name === "delta" && !done && typeof data.text === "string") {
            if (!started) {
              started = true;
              text.textContent = "";
            }
            text.textContent += data.text;
            scrollToEnd();
          } else if (name === "done") {
            started = true;
            done = true;
            finishTurn(node, text, data);
            scrollToEnd();
          } else if (name === "error") {
            done = true;
            fail((data.error && data.error.message) || data.message || T.failed);
          }
        }).then(function () {
          if (!done) {
            fail(T.incomplete);
          }
        });
      })
      .catch(function () {
        fail(T.network);
      })
      .then(function () {
        setBusy(false, node);
        scrollToEnd();
      });
  }

  function submit() {
    var message = input.value.trim();
    if (!message || busy) {
      return;
    }
    input.value = "";
    autoGrow();
    ask(message);
    input.focus();
  }

  bubble.addEventListener("click", openPanel);
  closeBtn.addEventListener("click", closePanel);
  newChat.addEventListener("click", function () {
    if (busy) {
      return;
    }
    sessionId = null;
    while (list.firstChild) {
      list.removeChild(list.firstChild);
    }
    welcome();
    input.focus();
  });
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      closePanel();
    }
  });
  composer.addEventListener("submit", function (event) {
    event.preventDefault();
    submit();
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });
  input.addEventListener("input", autoGrow);

  welcome();

  function mount() {
    (document.head || document.documentElement).appendChild(style);
    document.body.appendChild(root);
  }

  if (document.body) {
    mount();
  } else {
    document.addEventListener("DOMContentLoaded", mount);
  }
})();
