/*
 * 江澜银行助手 · Jianglan Bank assistant — the chat widget for intranet and customer pages.
 *
 * A host page includes it once:
 *   <script src="/widget.js" data-token="SIGNED_JWT" data-persona="employee"
 *           data-examples='["大额存单起存金额是多少？"]' data-api="" data-lang="zh-CN"></script>
 *
 * data-token     the host's signed token for the signed-in user: the only source of identity.
 * data-persona   "employee" or "customer": the greeting and subtitle (default: the token's role).
 * data-examples  a JSON list of example questions offered before the first question.
 * data-api       base URL of the assistant API; empty means the page's own origin.
 * data-lang      the widget's language tag (default: the page's, then the browser's).
 *
 * No dependencies and no third-party requests. Server text is only ever set as textContent:
 * answers are rendered from a small Markdown subset into DOM nodes, never through innerHTML.
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
  var LANG = config.lang || document.documentElement.lang || navigator.language || "zh-CN";
  var CLAIMS = claimsOf(TOKEN);
  var PERSONA = (config.persona || CLAIMS.role) === "employee" ? "employee" : "customer";
  var EXAMPLES = examplesOf(config.examples);

  // Every string a person sees: Chinese first, English second; the widget speaks one of them.
  var T = {
    title: ["江澜银行助手", "Jianglan Bank assistant"],
    subtitleEmployee: ["内网专用", "Intranet only"],
    subtitleCustomer: ["江澜银行 在线客服助手", "Jianglan Bank online help"],
    greetingEmployee: [
      "您好！我可以查询本行产品、业务流程和内部制度，回答均附出处。",
      "Hello! Ask about our products, procedures and internal policies; every answer cites " +
        "its sources.",
    ],
    greetingCustomer: [
      "您好！我是江澜银行在线客服助手，可以为您介绍存款、银行卡、理财等产品和办理流程。",
      "Hello! I can tell you about Jianglan Bank's deposits, cards, wealth products and how to " +
        "get things done.",
    ],
    examples: ["您可以这样问：", "You could ask:"],
    open: ["打开江澜银行助手", "Open the assistant"],
    close: ["关闭", "Close"],
    newChat: ["新对话", "New chat"],
    placeholder: ["请输入您的问题…", "Ask a question…"],
    inputLabel: ["输入问题", "Your question"],
    send: ["发送", "Send"],
    thinking: ["正在查询…", "Looking it up…"],
    sources: ["参考来源", "Sources"],
    showSource: ["查看来源", "Show source"],
    section: ["章节", "Section"],
    validity: ["有效期", "Valid"],
    openEnded: ["长期", "open-ended"],
    staffOnly: ["内部，勿告知客户", "Internal: not for customers"],
    helpful: ["有帮助", "Helpful"],
    unhelpful: ["没帮助", "Not helpful"],
    thanks: ["谢谢反馈", "Thanks"],
    reasonPrompt: ["哪里不满意？", "What was wrong?"],
    reasonWrong: ["答案不正确", "The answer is wrong"],
    reasonMissed: ["没有回答我的问题", "It did not answer my question"],
    reasonSources: ["引用来源不对", "The sources are wrong"],
    reasonOther: ["其他", "Something else"],
    reasonDetail: ["补充说明（选填）", "Details (optional)"],
    submitReason: ["提交", "Send"],
    cancel: ["取消", "Cancel"],
    handoff: ["已登记人工服务", "Handed over to staff"],
    copyReference: ["复制单号", "Copy reference"],
    copied: ["已复制", "Copied"],
    copyFailed: ["复制失败，请手动选中单号复制。", "Could not copy: select the reference by hand."],
    retry: ["重试", "Retry"],
    noToken: ["未获取到登录凭证，请刷新页面重新登录。", "Not signed in: reload the page."],
    expired: ["登录已失效，请刷新页面重新登录后再试。", "Your sign-in has expired: reload the page."],
    network: ["网络连接中断，请检查网络后点重试。", "The connection dropped: check it and retry."],
    unavailable: ["服务暂时不可用，请稍后点重试。", "The service is unavailable: retry shortly."],
    rateLimited: ["提问过于频繁，请稍后点重试。", "Too many questions: wait a moment and retry."],
    rateLimitedFor: [
      "提问过于频繁，请 {s} 秒后点重试。",
      "Too many questions: retry in {s} seconds.",
    ],
    failed: ["请求未能完成，请修改问题后重试。", "The request was refused: edit it and retry."],
    incomplete: ["回答未完整返回，请点重试。", "The answer was cut off: retry."],
    restoreFailed: [
      "之前的对话暂时无法加载，您可以继续提问。",
      "The earlier conversation could not be loaded; you can go on asking.",
    ],
    disclaimer: ["仅供参考，以本行正式公告为准", "For reference only; the bank's notices prevail"],
  };
  var ZH = /^zh\b/i.test(LANG);
  var S = pick(T, ZH ? 0 : 1);

  function pick(table, index) {
    var chosen = {};
    Object.keys(table).forEach(function (key) {
      chosen[key] = table[key][index];
    });
    return chosen;
  }

  // The token's claims, read (not verified: the server does that) to tell whose storage is
  // whose, and the role when the page names no persona.
  function claimsOf(token) {
    try {
      var part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      var bytes = Uint8Array.from(atob(part), function (c) {
        return c.charCodeAt(0);
      });
      return JSON.parse(new TextDecoder("utf-8").decode(bytes)) || {};
    } catch (error) {
      return {};
    }
  }

  function examplesOf(text) {
    try {
      var list = JSON.parse(text || "[]");
      return Array.isArray(list) ? list.filter(isQuestion).slice(0, 4) : [];
    } catch (error) {
      return [];
    }
  }

  function isQuestion(value) {
    return typeof value === "string" && value.trim() !== "";
  }

  var FONT =
    '"Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Micro Hei", "Microsoft YaHei", ' +
    '"PingFang SC", sans-serif';

  // Colours are picked for WCAG AA contrast (4.5:1 for text) on the backgrounds they sit on.
  var CSS = [
    "#jl-widget-root, #jl-widget-root * { box-sizing: border-box; }",
    "#jl-widget-root { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000;",
    "  font-family: " + FONT + "; font-size: 14px; line-height: 1.6; color: #1f2933;",
    "  text-align: left; letter-spacing: normal; pointer-events: none; display: flex;",
    "  flex-direction: column; align-items: flex-end; }",
    "#jl-widget-root > * { pointer-events: auto; }",
    // :where() keeps this reset below every control's own rules (colour, the input's 16px).
    "#jl-widget-root :where(button, textarea, input) { font: inherit; margin: 0; }",
    "#jl-widget-root button { cursor: pointer; }",
    "#jl-widget-root :focus-visible { outline: 3px solid #0b4f8a; outline-offset: 2px; }",
    "#jl-widget-root .jl-header :focus-visible { outline-color: #f0b429; }",
    "#jl-widget-bubble { width: 58px; height: 58px; border-radius: 50%; border: 0;",
    "  background: #0b4f8a; color: #fff; display: flex; align-items: center;",
    "  justify-content: center; box-shadow: 0 6px 18px rgba(11, 79, 138, .35);",
    "  transition: transform .15s ease, background .15s ease; }",
    "#jl-widget-bubble:hover { background: #093f6e; transform: translateY(-1px); }",
    "#jl-widget-bubble svg { width: 28px; height: 28px; fill: #fff; }",
    "#jl-widget-bubble[aria-expanded='true'] { display: none; }",
    "#jl-widget-panel { width: 380px; height: 600px; max-width: calc(100vw - 24px);",
    "  max-height: calc(100vh - 40px); max-height: calc(100dvh - 40px); background: #fff;",
    "  border-radius: 14px; box-shadow: 0 12px 40px rgba(15, 23, 42, .25); display: flex;",
    "  flex-direction: column; overflow: hidden; border: 1px solid #d9e2ec; }",
    "#jl-widget-panel[hidden] { display: none; }",
    "#jl-widget-panel .jl-header { background: #0b4f8a; color: #fff; padding: 10px 10px 10px 14px;",
    "  display: flex; align-items: center; gap: 8px; }",
    "#jl-widget-panel .jl-logo { width: 32px; height: 32px; border-radius: 8px;",
    "  background: #f0b429; color: #0b4f8a; font-weight: 700; display: flex;",
    "  align-items: center; justify-content: center; flex: none; }",
    "#jl-widget-panel .jl-heading { flex: 1; min-width: 0; }",
    "#jl-widget-panel .jl-title { margin: 0; font-size: 15px; font-weight: 600;",
    "  line-height: 1.3; color: #fff; }",
    "#jl-widget-panel .jl-subtitle { font-size: 12px; color: #e4ecf4; }",
    "#jl-widget-panel .jl-icon-btn { background: transparent; border: 0; color: #fff;",
    "  border-radius: 6px; padding: 4px 8px; font-size: 13px; min-height: 36px;",
    "  min-width: 36px; }",
    "#jl-widget-panel .jl-icon-btn:hover { background: rgba(255, 255, 255, .15); }",
    "#jl-widget-panel .jl-close { font-size: 22px; line-height: 1; }",
    "#jl-widget-panel .jl-messages { flex: 1; overflow-y: auto; padding: 14px;",
    "  background: #f5f7fa; display: flex; flex-direction: column; gap: 10px; }",
    "#jl-widget-panel .jl-msg { max-width: 88%; padding: 9px 12px; border-radius: 12px;",
    "  word-break: break-word; overflow-wrap: anywhere; }",
    "#jl-widget-panel .jl-msg-user { align-self: flex-end; background: #0b4f8a; color: #fff;",
    "  border-bottom-right-radius: 4px; white-space: pre-wrap; }",
    "#jl-widget-panel .jl-msg-assistant { align-self: flex-start; background: #fff;",
    "  border: 1px solid #e4e7eb; border-bottom-left-radius: 4px; }",
    "#jl-widget-panel .jl-msg-assistant[aria-busy='true'] .jl-text { color: #52606d; }",
    "#jl-widget-panel :is(.jl-text, .jl-passage) p { margin: 0 0 6px; }",
    "#jl-widget-panel :is(.jl-text, .jl-passage) p:last-child { margin-bottom: 0; }",
    "#jl-widget-panel :is(.jl-text, .jl-passage) :is(ul, ol) { margin: 4px 0 6px;",
    "  padding-left: 22px; }",
    "#jl-widget-panel :is(.jl-text, .jl-passage) li { margin: 2px 0; }",
    "#jl-widget-panel .jl-table-wrap { overflow-x: auto; margin: 4px 0 6px; }",
    "#jl-widget-panel .jl-table-wrap table { border-collapse: collapse; font-size: 13px; }",
    "#jl-widget-panel .jl-table-wrap :is(th, td) { border: 1px solid #d9e2ec; padding: 3px 8px;",
    "  text-align: left; vertical-align: top; }",
    "#jl-widget-panel .jl-table-wrap th { background: #f0f4f8; font-weight: 600; }",
    "#jl-widget-panel .jl-cite { border: 0; background: #e3ecf7; color: #0b4f8a;",
    "  border-radius: 4px; padding: 0 4px; margin: 0 1px; font-size: 11px; line-height: 1.5;",
    "  vertical-align: super; min-width: 18px; }",
    "#jl-widget-panel .jl-cite:hover { background: #c9dbef; }",
    "#jl-widget-panel .jl-staff { display: inline-block; margin-bottom: 6px; padding: 1px 8px;",
    "  border-radius: 4px; background: #fff3c4; color: #8d2b0b; border: 1px solid #e8c35a;",
    "  font-size: 12px; font-weight: 600; }",
    "#jl-widget-panel .jl-empty { color: #3e4c59; }",
    "#jl-widget-panel .jl-empty p { margin: 0 0 8px; }",
    "#jl-widget-panel .jl-examples { list-style: none; margin: 0; padding: 0; display: flex;",
    "  flex-direction: column; gap: 6px; }",
    "#jl-widget-panel .jl-example { width: 100%; text-align: left; border: 1px solid #bcccdc;",
    "  background: #fff; color: #0b4f8a; border-radius: 10px; padding: 8px 12px;",
    "  min-height: 40px; }",
    "#jl-widget-panel .jl-example:hover { background: #f0f4f8; border-color: #0b4f8a; }",
    "#jl-widget-panel .jl-sources { margin-top: 8px; padding-top: 6px;",
    "  border-top: 1px dashed #d9e2ec; }",
    "#jl-widget-panel .jl-citations { margin: 2px 0 0; padding: 0; list-style: none; }",
    "#jl-widget-panel .jl-citations-label { font-size: 12px; color: #52606d; }",
    "#jl-widget-panel .jl-citation { font-size: 12.5px; margin: 4px 0; }",
    "#jl-widget-panel .jl-citation summary { cursor: pointer; color: #0b4f8a; padding: 3px 0; }",
    "#jl-widget-panel .jl-citation summary:hover { text-decoration: underline; }",
    "#jl-widget-panel .jl-passage { margin: 6px 0 4px; padding: 6px 8px; background: #f5f7fa;",
    "  border-left: 3px solid #9fb3c8; color: #3e4c59; }",
    "#jl-widget-panel .jl-meta { font-size: 12px; color: #52606d; margin-top: 2px; }",
    "#jl-widget-panel .jl-handoff { margin-top: 8px; padding: 6px 8px; border-radius: 8px;",
    "  background: #fffbea; border: 1px solid #e8c35a; font-size: 13px; display: flex;",
    "  align-items: center; flex-wrap: wrap; gap: 8px; }",
    "#jl-widget-panel .jl-handoff strong { flex: 1; }",
    "#jl-widget-panel .jl-small-btn { border: 1px solid #bcccdc; background: #fff;",
    "  color: #243b53; border-radius: 14px; padding: 2px 12px; font-size: 12.5px;",
    "  display: inline-flex; align-items: center; justify-content: center; gap: 4px;",
    "  min-height: 30px; }",
    "#jl-widget-panel .jl-small-btn:hover:not(:disabled) { background: #f0f4f8; }",
    "#jl-widget-panel .jl-small-btn:disabled { color: #52606d; background: #f5f7fa;",
    "  cursor: default; }",
    "#jl-widget-panel .jl-primary-btn { background: #0b4f8a; border-color: #0b4f8a;",
    "  color: #fff; }",
    "#jl-widget-panel .jl-primary-btn:hover:not(:disabled) { background: #093f6e; }",
    "#jl-widget-panel .jl-feedback { display: flex; align-items: center; flex-wrap: wrap;",
    "  gap: 6px; margin-top: 8px; }",
    "#jl-widget-panel .jl-feedback svg { width: 14px; height: 14px; fill: currentColor; }",
    "#jl-widget-panel .jl-status { font-size: 12.5px; color: #0e6245; }",
    "#jl-widget-panel .jl-reason { margin-top: 8px; padding: 8px 10px; border-radius: 8px;",
    "  border: 1px solid #d9e2ec; background: #f8fafc; }",
    "#jl-widget-panel .jl-reason fieldset { border: 0; margin: 0; padding: 0; }",
    "#jl-widget-panel .jl-reason legend { padding: 0; font-size: 13px; font-weight: 600; }",
    "#jl-widget-panel .jl-reason label { display: flex; align-items: center; gap: 6px;",
    "  font-size: 13px; min-height: 30px; cursor: pointer; }",
    "#jl-widget-panel .jl-reason textarea { width: 100%; margin-top: 4px; resize: vertical;",
    "  border: 1px solid #bcccdc; border-radius: 8px; padding: 6px 8px; font-size: 16px;",
    "  color: #1f2933; background: #fff; }",
    "#jl-widget-panel .jl-reason-actions { display: flex; gap: 8px; margin-top: 6px; }",
    "#jl-widget-panel .jl-error { color: #a61b1b; background: #fff0f0;",
    "  border: 1px solid #f29b9b; border-radius: 8px; padding: 6px 10px; font-size: 13px;",
    "  align-self: stretch; display: flex; align-items: center; flex-wrap: wrap; gap: 8px; }",
    "#jl-widget-panel .jl-error span { flex: 1; }",
    "#jl-widget-panel .jl-composer { border-top: 1px solid #e4e7eb; padding: 10px;",
    "  background: #fff; }",
    "#jl-widget-panel .jl-row { display: flex; gap: 8px; align-items: flex-end; }",
    // 16px: anything smaller makes iOS zoom the page in when the field takes focus.
    "#jl-widget-input { flex: 1; resize: none; min-height: 44px; max-height: 120px;",
    "  border: 1px solid #7b8794; border-radius: 10px; padding: 9px 10px; background: #fff;",
    "  color: #1f2933; font-size: 16px; line-height: 1.5; }",
    "#jl-widget-input::placeholder { color: #616e7c; opacity: 1; }",
    "#jl-widget-input:focus { border-color: #0b4f8a; outline: none;",
    "  box-shadow: 0 0 0 3px rgba(11, 79, 138, .25); }",
    "#jl-widget-send { border: 0; border-radius: 10px; background: #0b4f8a; color: #fff;",
    "  padding: 0 16px; height: 44px; min-width: 56px; white-space: nowrap; flex: none; }",
    "#jl-widget-send:hover:not(:disabled) { background: #093f6e; }",
    "#jl-widget-send:disabled { background: #52606d; cursor: default; }",
    "#jl-widget-panel .jl-hint { font-size: 12px; color: #52606d; margin-top: 6px; }",
    "#jl-widget-panel .jl-sr-only { position: absolute; width: 1px; height: 1px;",
    "  overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }",
    // Phones: the panel fills the screen (dvh: the height left beside the browser's own bars),
    // and every control is at least a 44x44 px tap target.
    "@media (max-width: 480px), (pointer: coarse) {",
    "  #jl-widget-panel .jl-icon-btn, #jl-widget-panel .jl-small-btn,",
    "  #jl-widget-panel .jl-example, #jl-widget-panel .jl-reason label { min-height: 44px; }",
    "  #jl-widget-panel .jl-icon-btn, #jl-widget-panel .jl-small-btn { min-width: 44px; }",
    // Padding, not flex: a flex summary loses its disclosure triangle.
    "  #jl-widget-panel .jl-citation summary { padding: 12px 0; }",
    "}",
    "@media (max-width: 480px) {",
    "  #jl-widget-root { right: 8px; bottom: 8px; left: 8px; }",
    "  #jl-widget-panel { width: 100%; max-width: none; height: calc(100vh - 16px);",
    "    height: calc(100dvh - 16px); max-height: none; }",
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

  function button(className, label, text) {
    return el("button", { type: "button", className: className, "aria-label": label }, text);
  }

  function empty(node) {
    while (node.firstChild) {
      node.removeChild(node.firstChild);
    }
  }

  function remove(node) {
    if (node && node.parentNode) {
      node.parentNode.removeChild(node);
    }
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

  // --- answers: a small Markdown subset, built as DOM nodes ---------------------------------

  var BULLET = /^\s*[-*•]\s+(.*)$/;
  // "1. ", "1、", "1）" and "（1）": the step styles Chinese documents use. "1.5%" is no item.
  var NUMBERED = /^\s*(?:([（(])(\d{1,2})[)）]|(\d{1,2})([、)）]|\.(?!\d)))\s*(.*)$/;
  var TABLE_ROW = /^\s*\|.*\|\s*$/;
  var TABLE_RULE = /^\s*\|(\s*:?-{3,}:?\s*\|)+\s*$/;
  var INLINE = /\*\*(.+?)\*\*|\[(\d{1,2})\]/g;

  // `cite(n)` makes the button for citation marker [n], or null where there is no such source.
  function renderMarkdown(target, text, cite) {
    var lines = String(text).replace(/\r\n?/g, "\n").split("\n");
    var i = 0;
    while (i < lines.length) {
      if (!lines[i].trim()) {
        i += 1;
      } else if (TABLE_ROW.test(lines[i]) && TABLE_RULE.test(lines[i + 1] || "")) {
        i = renderTable(target, lines, i, cite);
      } else if (BULLET.test(lines[i])) {
        i = renderList(target, el("ul"), listStyle(BULLET), lines, i, cite);
      } else if (NUMBERED.test(lines[i])) {
        var list = el("ol");
        var first = lines[i].match(NUMBERED);
        list.start = Number(first[2] || first[3]);
        i = renderList(target, list, numberedStyle(first[1] || first[4]), lines, i, cite);
      } else {
        i = renderParagraph(target, lines, i, cite);
      }
    }
  }

  function startsBlock(lines, i) {
    return (
      !lines[i].trim() ||
      BULLET.test(lines[i]) ||
      NUMBERED.test(lines[i]) ||
      (TABLE_ROW.test(lines[i]) && TABLE_RULE.test(lines[i + 1] || ""))
    );
  }

  function renderParagraph(target, lines, i, cite) {
    var p = el("p");
    var start = i;
    while (i < lines.length && (i === start || !startsBlock(lines, i))) {
      if (i > start) {
        p.appendChild(el("br"));
      }
      renderInline(p, lines[i], cite);
      i += 1;
    }
    target.appendChild(p);
    return i;
  }

  // An item reader: the item's text for a line in the list's style, else null.
  function listStyle(pattern) {
    return function (line) {
      var found = line.match(pattern);
      return found ? found[found.length - 1] : null;
    };
  }

  // "1." steps and "（1）" sub-steps under them are two lists, not one: a list goes on only
  // while its marker stays the same ("（", "、", ".", "）").
  function numberedStyle(marker) {
    return function (line) {
      var found = line.match(NUMBERED);
      return found && (found[1] || found[4]) === marker ? found[5] : null;
    };
  }

  function renderList(target, list, itemOf, lines, i, cite) {
    var text;
    while (i < lines.length && (text = itemOf(lines[i])) !== null) {
      renderInline(list.appendChild(el("li")), text, cite);
      i += 1;
    }
    target.appendChild(list);
    return i;
  }

  function cells(line) {
    return line.trim().replace(/^\|/, "").replace(/\|$/, "").split("|");
  }

  function renderTable(target, lines, i, cite) {
    var table = el("table");
    var head = el("tr");
    cells(lines[i]).forEach(function (cell) {
      renderInline(head.appendChild(el("th", { scope: "col" })), cell.trim(), cite);
    });
    table.appendChild(el("thead")).appendChild(head);
    var body = table.appendChild(el("tbody"));
    i += 2;
    while (i < lines.length && TABLE_ROW.test(lines[i])) {
      var row = body.appendChild(el("tr"));
      cells(lines[i]).forEach(function (cell) {
        renderInline(row.appendChild(el("td")), cell.trim(), cite);
      });
      i += 1;
    }
    // A wide table scrolls on its own rather than widening the whole message on a phone.
    target.appendChild(el("div", { className: "jl-table-wrap" })).appendChild(table);
    return i;
  }

  function renderInline(target, text, cite) {
    var at = 0;
    var match;
    INLINE.lastIndex = 0;
    while ((match = INLINE.exec(text)) !== null) {
      target.appendChild(document.createTextNode(text.slice(at, match.index)));
      if (match[1] !== undefined) {
        var strong = el("strong");
        var rest = INLINE.lastIndex;
        renderInline(strong, match[1], cite);
        INLINE.lastIndex = rest; // the nested call moved the shared regex on
        target.appendChild(strong);
      } else {
        target.appendChild((cite && cite(Number(match[2]))) || document.createTextNode(match[0]));
      }
      at = INLINE.lastIndex;
    }
    target.appendChild(document.createTextNode(text.slice(at)));
  }

  // --- talking to the server ----------------------------------------------------------------

  function headers() {
    return { Authorization: "Bearer " + TOKEN, "Content-Type": "application/json" };
  }

  function post(path, body) {
    return fetch(API + path, { method: "POST", headers: headers(), body: JSON.stringify(body) });
  }

  // The widget's own words for a failed request, in the user's language: the server's
  // `error.message` is written for developers (and in English), so it is never shown, except a
  // rate limit's message in the user's own language, which says when to try again.
  function failureText(response) {
    if (!response) {
      return Promise.resolve(S.network);
    }
    if (response.status === 401) {
      return Promise.resolve(S.expired);
    }
    if (response.status === 429) {
      return rateLimitText(response);
    }
    return Promise.resolve(response.status >= 500 ? S.unavailable : S.failed);
  }

  function rateLimitText(response) {
    var seconds = Number(response.headers.get("Retry-After"));
    var fallback = seconds > 0 ? S.rateLimitedFor.replace("{s}", String(seconds)) : S.rateLimited;
    return response
      .json()
      .then(function (body) {
        var message = body && body.error && body.error.message;
        var inChinese = typeof message === "string" && /[\u4e00-\u9fff]/.test(message);
        return inChinese && ZH ? message : fallback;
      })
      .catch(function () {
        return fallback;
      });
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

  // --- what survives a reload: the session, the draft and whether the panel was open --------
  // Kept in sessionStorage (this tab only, gone with it) under the signed-in user's subject,
  // so that someone else signing in on the same browser never sees this conversation.

  var STORAGE_PREFIX =
    "jl-widget:" + (API || location.origin) + ":" + (CLAIMS.sub || "anonymous") + ":";

  function remember(name, value) {
    try {
      if (value) {
        window.sessionStorage.setItem(STORAGE_PREFIX + name, value);
      } else {
        window.sessionStorage.removeItem(STORAGE_PREFIX + name);
      }
    } catch (error) {
      // Storage refused (private mode, quota): the widget works on, it just forgets.
    }
  }

  function recall(name) {
    try {
      return window.sessionStorage.getItem(STORAGE_PREFIX + name);
    } catch (error) {
      return null;
    }
  }

  // --- the widget ------------------------------------------------------------------------------

  var sessionId = null;
  var busy = false;
  var failure = null; // the last failed question's bubble and error line, until it is resent

  var style = el("style", { id: "jl-widget-style" });
  style.textContent = CSS;

  var root = el("div", { id: "jl-widget-root", lang: ZH ? "zh-CN" : "en" });

  var bubble = el("button", {
    id: "jl-widget-bubble",
    type: "button",
    "aria-label": S.open,
    title: S.open,
    "aria-expanded": "false",
    "aria-controls": "jl-widget-panel",
  });
  bubble.appendChild(icon("chat"));

  var panel = el("section", {
    id: "jl-widget-panel",
    role: "dialog",
    "aria-modal": "false",
    "aria-labelledby": "jl-widget-title",
    "data-persona": PERSONA,
  });
  panel.hidden = true;

  var header = el("div", { className: "jl-header" });
  header.appendChild(el("div", { className: "jl-logo", "aria-hidden": "true" }, "澜"));
  var heading = el("div", { className: "jl-heading" });
  heading.appendChild(el("h2", { className: "jl-title", id: "jl-widget-title" }, S.title));
  heading.appendChild(
    el(
      "div",
      { className: "jl-subtitle" },
      PERSONA === "employee" ? S.subtitleEmployee : S.subtitleCustomer
    )
  );
  header.appendChild(heading);
  var newChat = button("jl-icon-btn jl-new", S.newChat, S.newChat);
  header.appendChild(newChat);
  var closeBtn = button("jl-icon-btn jl-close", S.close, "×");
  closeBtn.title = S.close;
  header.appendChild(closeBtn);

  var list = el("div", {
    className: "jl-messages",
    id: "jl-widget-messages",
    role: "log",
    "aria-live": "polite",
    "aria-relevant": "additions",
    "aria-busy": "false",
    "aria-label": S.title,
    tabindex: "0",
  });

  var composer = el("form", { className: "jl-composer", novalidate: "novalidate" });
  var label = el("label", { for: "jl-widget-input", className: "jl-sr-only" }, S.inputLabel);
  var row = el("div", { className: "jl-row" });
  var input = el("textarea", {
    id: "jl-widget-input",
    rows: "1",
    placeholder: S.placeholder,
    "aria-label": S.inputLabel,
    "aria-describedby": "jl-widget-hint",
    maxlength: "2000",
    autocomplete: "off",
  });
  var send = el("button", { id: "jl-widget-send", type: "submit", "aria-label": S.send }, S.send);
  row.appendChild(input);
  row.appendChild(send);
  composer.appendChild(label);
  composer.appendChild(row);
  composer.appendChild(el("div", { className: "jl-hint", id: "jl-widget-hint" }, S.disclaimer));

  panel.appendChild(header);
  panel.appendChild(list);
  panel.appendChild(composer);
  root.appendChild(panel);
  root.appendChild(bubble);

  function scrollToEnd() {
    list.scrollTop = list.scrollHeight;
  }

  // Before the first question: a greeting for who is asking, and questions to start from.
  function showEmptyState() {
    var box = el("div", { className: "jl-msg jl-msg-assistant jl-empty" });
    box.appendChild(
      el("p", null, PERSONA === "employee" ? S.greetingEmployee : S.greetingCustomer)
    );
    if (EXAMPLES.length) {
      box.appendChild(el("p", { id: "jl-widget-examples-label" }, S.examples));
      var ul = el("ul", {
        className: "jl-examples",
        "aria-labelledby": "jl-widget-examples-label",
      });
      EXAMPLES.forEach(function (question) {
        var choice = el("button", { type: "button", className: "jl-example" }, question);
        choice.addEventListener("click", function () {
          if (!busy) {
            ask(question);
          }
        });
        ul.appendChild(el("li")).appendChild(choice);
      });
      box.appendChild(ul);
    }
    list.appendChild(box);
  }

  function clearEmptyState() {
    remove(list.querySelector(".jl-empty"));
  }

  function showError(message, where) {
    var line = el("div", { className: "jl-error", role: "alert" });
    line.appendChild(el("span", null, message));
    (where || list).appendChild(line);
    scrollToEnd();
    return line;
  }

  function setBusy(value, node) {
    busy = value;
    list.setAttribute("aria-busy", value ? "true" : "false");
    if (node) {
      node.setAttribute("aria-busy", value ? "true" : "false");
    }
    send.disabled = value;
  }

  function openPanel() {
    panel.hidden = false;
    bubble.setAttribute("aria-expanded", "true");
    remember("open", "1");
    input.focus();
    scrollToEnd();
  }

  function closePanel() {
    panel.hidden = true;
    bubble.setAttribute("aria-expanded", "false");
    remember("open", null);
    bubble.focus();
  }

  function autoGrow() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 120) + "px";
  }

  function setDraft(text) {
    input.value = text;
    remember("draft", text);
    autoGrow();
  }

  function setSession(id) {
    sessionId = id;
    remember("session", id);
  }

  function renderCitations(node, citations) {
    var wrap = el("div", { className: "jl-sources" });
    wrap.appendChild(el("div", { className: "jl-citations-label" }, S.sources));
    var ol = el("ol", { className: "jl-citations", "aria-label": S.sources });
    citations.forEach(function (c) {
      var item = el("li", {
        className: "jl-citation",
        "data-doc-id": String(c.doc_id || ""),
        "data-n": String(c.n),
      });
      var details = el("details");
      details.appendChild(el("summary", null, "[" + c.n + "] " + (c.title || c.doc_id || "")));
      var meta = [];
      if (c.section) {
        meta.push(S.section + "：" + c.section);
      }
      if (c.effective_from || c.effective_to) {
        meta.push(
          S.validity + "：" + (c.effective_from || "—") + " ~ " + (c.effective_to || S.openEnded)
        );
      }
      if (meta.length) {
        details.appendChild(el("div", { className: "jl-meta" }, meta.join(" · ")));
      }
      // The passage as the document has it: its lists and bold read as they do there.
      var passage = details.appendChild(el("blockquote", { className: "jl-passage" }));
      renderMarkdown(passage, c.passage || "", null);
      item.appendChild(details);
      ol.appendChild(item);
    });
    wrap.appendChild(ol);
    node.appendChild(wrap);
  }

  // A marker [n] in the answer opens citation n of the same answer and brings it into view.
  function citeButton(node, citations) {
    var known = {};
    citations.forEach(function (c) {
      known[c.n] = true;
    });
    return function (n) {
      if (!known[n]) {
        return null;
      }
      var marker = button("jl-cite", S.showSource + " " + n, String(n));
      marker.addEventListener("click", function () {
        var item = node.querySelector('.jl-citation[data-n="' + n + '"]');
        var details = item.querySelector("details");
        details.open = true;
        item.scrollIntoView({ block: "nearest" });
        details.querySelector("summary").focus();
      });
      return marker;
    };
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Older browsers and plain-http pages: a hidden field and the copy command.
    return new Promise(function (resolve, reject) {
      var field = el("textarea", { readonly: "readonly", "aria-hidden": "true" });
      field.value = text;
      field.style.position = "fixed";
      field.style.opacity = "0";
      document.body.appendChild(field);
      field.select();
      var copied = document.execCommand("copy");
      remove(field);
      (copied ? resolve : reject)();
    });
  }

  // The answer already carries the reference and the next steps, in the server's words: the
  // box only says that a person has it, and copies the reference.
  function renderHandoff(node, handoff) {
    var box = el("div", { className: "jl-handoff" });
    box.appendChild(el("strong", null, S.handoff));
    var copy = button("jl-small-btn jl-copy", S.copyReference, S.copyReference);
    var status = el("span", { className: "jl-status", role: "status" });
    copy.addEventListener("click", function () {
      copyText(handoff.reference).then(
        function () {
          status.textContent = S.copied;
        },
        function () {
          status.textContent = S.copyFailed;
        }
      );
    });
    box.appendChild(copy);
    box.appendChild(status);
    node.appendChild(box);
  }

  function sendFeedback(turnId, rating, comment) {
    return post("/v1/feedback", { turn_id: turnId, rating: rating, comment: comment }).then(
      function (response) {
        return response.ok ? null : failureText(response);
      },
      function () {
        return failureText(null);
      }
    );
  }

  // A turn read back with its rating shows it, and is not rated twice.
  function renderFeedback(node, turnId, rated) {
    var bar = el("div", { className: "jl-feedback" });
    var up = button("jl-small-btn jl-feedback-up", S.helpful);
    up.appendChild(icon("up"));
    up.appendChild(el("span", null, S.helpful));
    var down = button("jl-small-btn jl-feedback-down", S.unhelpful);
    down.appendChild(icon("down"));
    down.appendChild(el("span", null, S.unhelpful));
    down.setAttribute("aria-expanded", "false");
    bar.appendChild(up);
    bar.appendChild(down);
    node.appendChild(bar);
    if (rated === "up" || rated === "down") {
      up.disabled = true;
      down.disabled = true;
      (rated === "up" ? up : down).setAttribute("aria-pressed", "true");
      bar.appendChild(el("span", { className: "jl-status jl-feedback-done" }, S.thanks));
      return;
    }

    function rate(rating, comment) {
      up.disabled = true;
      down.disabled = true;
      remove(bar.querySelector(".jl-error"));
      return sendFeedback(turnId, rating, comment).then(function (problem) {
        if (problem) {
          up.disabled = false;
          down.disabled = false;
          showError(problem, bar);
          return false;
        }
        bar.appendChild(
          el("span", { className: "jl-status jl-feedback-done", role: "status" }, S.thanks)
        );
        return true;
      });
    }

    up.addEventListener("click", function () {
      rate("up", "");
    });
    down.addEventListener("click", function () {
      if (!node.querySelector(".jl-reason")) {
        down.setAttribute("aria-expanded", "true");
        askReason(
          node,
          function (comment) {
            return rate("down", comment);
          },
          function () {
            down.setAttribute("aria-expanded", "false");
            down.focus();
          }
        );
      }
    });
  }

  // Thumbs down asks why: a reason to pick and, optionally, a few words; sent as "reason: words".
  function askReason(node, submit, cancelled) {
    var form = el("form", { className: "jl-reason", novalidate: "novalidate" });
    var group = el("fieldset");
    group.appendChild(el("legend", null, S.reasonPrompt));
    var name = "jl-reason-" + (node.getAttribute("data-turn-id") || "turn");
    [S.reasonWrong, S.reasonMissed, S.reasonSources, S.reasonOther].forEach(function (reason) {
      var option = el("label");
      option.appendChild(el("input", { type: "radio", name: name, value: reason }));
      option.appendChild(document.createTextNode(reason));
      group.appendChild(option);
    });
    form.appendChild(group);
    var detail = el("textarea", { rows: "2", maxlength: "500", "aria-label": S.reasonDetail });
    detail.placeholder = S.reasonDetail;
    form.appendChild(detail);
    var actions = el("div", { className: "jl-reason-actions" });
    var ok = el(
      "button",
      { type: "submit", className: "jl-small-btn jl-primary-btn jl-reason-send" },
      S.submitReason
    );
    ok.disabled = true; // until a reason is picked
    var cancel = button("jl-small-btn jl-reason-cancel", S.cancel, S.cancel);
    actions.appendChild(ok);
    actions.appendChild(cancel);
    form.appendChild(actions);

    form.addEventListener("change", function () {
      ok.disabled = !form.querySelector("input:checked");
    });
    cancel.addEventListener("click", function () {
      remove(form);
      cancelled();
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var chosen = form.querySelector("input:checked");
      if (!chosen) {
        return;
      }
      var words = detail.value.trim();
      ok.disabled = true;
      submit(words ? chosen.value + ": " + words : chosen.value).then(function (sent) {
        if (sent) {
          remove(form);
        } else {
          ok.disabled = false;
        }
      });
    });
    node.insertBefore(form, node.querySelector(".jl-feedback").nextSibling);
    form.querySelector("input").focus();
  }

  function renderAnswer(text, answer, cite) {
    empty(text);
    renderMarkdown(text, answer, cite);
  }

  // A finished turn, streamed now or read back from the session: the answer with its markers
  // linked, a badge when it rests on staff documents, its sources, hand-off and rating.
  function finishTurn(node, text, turn) {
    var citations = Array.isArray(turn.citations) ? turn.citations : [];
    var answer = typeof turn.answer === "string" ? turn.answer : "";
    renderAnswer(text, answer, citeButton(node, citations));
    node.setAttribute("data-turn-id", String(turn.turn_id || ""));
    var internal = citations.some(function (c) {
      return c.audience === "staff";
    });
    if (internal) {
      node.insertBefore(el("div", { className: "jl-staff", role: "note" }, S.staffOnly), text);
    }
    if (citations.length) {
      renderCitations(node, citations);
    }
    if (turn.handoff && turn.handoff.reference) {
      renderHandoff(node, turn.handoff);
    }
    if (turn.turn_id) {
      renderFeedback(node, turn.turn_id, turn.rating);
    }
  }

  function answerNode() {
    var node = el("div", { className: "jl-msg jl-msg-assistant", "aria-busy": "false" });
    var text = el("div", { className: "jl-text" });
    node.appendChild(text);
    return { node: node, text: text };
  }

  function ask(question) {
    remove(failure && failure.question);
    remove(failure && failure.line);
    failure = null;
    clearEmptyState();
    var asked = el("div", { className: "jl-msg jl-msg-user" }, question);
    list.appendChild(asked);
    if (!TOKEN) {
      showError(S.noToken);
      return;
    }
    var answer = answerNode();
    answer.text.textContent = S.thinking;
    list.appendChild(answer.node);
    scrollToEnd();
    setBusy(true, answer.node);
    if (input.value.trim() === question) {
      setDraft("");
    }

    var streamed = "";
    var done = false;
    var body = { message: question, stream: true };
    if (sessionId) {
      body.session_id = sessionId;
    }

    function finish(turn) {
      done = true;
      if (turn.session_id) {
        setSession(turn.session_id);
      }
      answer.node.setAttribute("data-grounded", turn.grounded ? "true" : "false");
      finishTurn(answer.node, answer.text, turn);
    }

    // Nothing typed is lost: the question goes back into an empty input box, and Retry
    // sends it again as it was.
    function fail(message) {
      remove(answer.node);
      var line = showError(message);
      var retry = button("jl-small-btn jl-retry", S.retry, S.retry);
      retry.addEventListener("click", function () {
        if (!busy) {
          ask(question);
        }
      });
      line.appendChild(retry);
      failure = { question: asked, line: line };
      if (!input.value.trim()) {
        setDraft(question);
      }
    }

    post("/v1/chat", body)
      .then(function (response) {
        if (!response.ok) {
          return failureText(response).then(fail);
        }
        var type = response.headers.get("content-type") || "";
        if (type.indexOf("text/event-stream") === -1 || !response.body) {
          // A server that answered in one piece: the JSON is the whole turn.
          return response.json().then(finish);
        }
        return readEvents(response, function (name, data) {
          if (name === "delta" && !done && typeof data.text === "string") {
            streamed += data.text;
            renderAnswer(answer.text, streamed, null);
            scrollToEnd();
          } else if (name === "done") {
            finish(data);
          }
        }).then(function () {
          if (!done) {
            fail(S.incomplete);
          }
        });
      })
      .catch(function () {
        if (!done) {
          fail(S.network);
        }
      })
      .then(function () {
        setBusy(false, answer.node);
        scrollToEnd();
      });
  }

  // The turns of the remembered session, as the server stored them. A hand-off's record is
  // the session's; the turn it belongs to is the one whose answer quotes its reference.
  function showSession(data) {
    var turns = Array.isArray(data.turns) ? data.turns : [];
    var handoffs = Array.isArray(data.handoffs) ? data.handoffs : [];
    turns.forEach(function (turn) {
      list.appendChild(el("div", { className: "jl-msg jl-msg-user" }, turn.question || ""));
      var answer = answerNode();
      list.appendChild(answer.node);
      var handoff = handoffs.filter(function (h) {
        return turn.action === "handoff" && String(turn.answer).indexOf(h.reference) !== -1;
      })[0];
      finishTurn(answer.node, answer.text, {
        answer: turn.answer,
        citations: turn.citations,
        turn_id: turn.turn_id,
        handoff: handoff,
        rating: turn.rating,
      });
    });
    if (!turns.length) {
      showEmptyState();
    }
    scrollToEnd();
  }

  function restoreSession(id) {
    sessionId = id;
    setBusy(true);
    fetch(API + "/v1/sessions/" + encodeURIComponent(id), { headers: headers() })
      .then(function (response) {
        if (response.ok) {
          return response.json().then(showSession);
        }
        if (response.status === 404) {
          setSession(null); // gone (retention, another user): start afresh
          showEmptyState();
          return null;
        }
        return failureText(response).then(function (message) {
          showEmptyState();
          showError(response.status === 401 ? message : S.restoreFailed);
        });
      })
      .catch(function () {
        showEmptyState();
        showError(S.restoreFailed);
      })
      .then(function () {
        setBusy(false);
      });
  }

  function submit() {
    var question = input.value.trim();
    if (question && !busy) {
      ask(question);
      input.focus();
    }
  }

  bubble.addEventListener("click", openPanel);
  closeBtn.addEventListener("click", closePanel);
  newChat.addEventListener("click", function () {
    if (busy) {
      return;
    }
    setSession(null);
    failure = null;
    empty(list);
    showEmptyState();
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
    // Enter also confirms a word in a Chinese input method: then it is not a send.
    var composing = event.isComposing || event.keyCode === 229;
    if (event.key === "Enter" && !event.shiftKey && !composing) {
      event.preventDefault();
      submit();
    }
  });
  input.addEventListener("input", function () {
    remember("draft", input.value);
    autoGrow();
  });

  function start() {
    input.value = recall("draft") || "";
    var remembered = TOKEN && recall("session");
    if (remembered) {
      restoreSession(remembered);
    } else {
      showEmptyState();
    }
    (document.head || document.documentElement).appendChild(style);
    document.body.appendChild(root);
    autoGrow();
    if (recall("open")) {
      panel.hidden = false;
      bubble.setAttribute("aria-expanded", "true");
    }
  }

  if (document.body) {
    start();
  } else {
    document.addEventListener("DOMContentLoaded", start);
  }
})();
