/* banjia console: charts from data-chart attributes, copy buttons, and the streaming playground.
   Every page works without this file; it only adds to what the server renders. */
(function () {
  "use strict";

  function charts(root) {
    if (!window.echarts) return;
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      if (el.dataset.drawn) return;
      var chart = window.echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(JSON.parse(el.dataset.chart));
      el.dataset.drawn = "true";
    });
  }

  function disposeCharts(root) {
    if (!window.echarts) return;
    root.querySelectorAll("[data-drawn]").forEach(function (el) {
      var chart = window.echarts.getInstanceByDom(el);
      if (chart) chart.dispose();
    });
  }

  function resizeCharts() {
    if (!window.echarts) return;
    document.querySelectorAll("[data-drawn]").forEach(function (el) {
      var chart = window.echarts.getInstanceByDom(el);
      if (chart) chart.resize();
    });
  }

  function copyButtons(root) {
    root.querySelectorAll("[data-copy]").forEach(function (button) {
      if (button.dataset.ready) return;
      button.dataset.ready = "1";
      button.addEventListener("click", function () {
        var source = document.querySelector(button.dataset.copy);
        if (!source || !navigator.clipboard) return;
        navigator.clipboard.writeText(source.textContent.trim()).then(function () {
          button.classList.add("done");
        });
      });
    });
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // one SSE event ("event:" and "data:" lines) → {event, data}
  function parseEvent(block) {
    var out = { event: "message", data: "" };
    block.split("\n").forEach(function (line) {
      if (line.indexOf("event:") === 0) out.event = line.slice(6).trim();
      else if (line.indexOf("data:") === 0) out.data += line.slice(5).replace(/^ /, "");
    });
    return out;
  }

  function playground(form) {
    if (form.dataset.ready || !window.fetch || !window.ReadableStream || !window.TextDecoder) return;
    form.dataset.ready = "1";
    var d = form.dataset;
    var conversation = document.getElementById("conversation");
    var meta = document.getElementById("reply-meta");
    var clear = document.getElementById("pg-clear");
    var send = document.getElementById("pg-send");
    var history = [];

    clear.hidden = false;
    clear.addEventListener("click", function () {
      history = [];
      conversation.textContent = "";
      meta.textContent = "";
    });

    function bubble(role, label, text) {
      var box = el("div", "msg " + role);
      box.appendChild(el("b", "", label));
      var p = el("p", "text", text);
      box.appendChild(p);
      conversation.appendChild(box);
      return p;
    }

    function showMeta(info, requestId) {
      meta.textContent = "";
      meta.dataset.upstream = info.upstream || "";
      meta.appendChild(document.createTextNode(d.labelUpstream + " "));
      var up = el("code", "", info.upstream || "—");
      up.dataset.field = "upstream";
      meta.appendChild(up);
      meta.appendChild(document.createTextNode(" · " + d.labelCost + " "));
      var cost = el("span", "", info.cost_cny === null ? "—" : "¥" + info.cost_cny.toFixed(6));
      cost.dataset.field = "cost";
      meta.appendChild(cost);
      meta.appendChild(document.createTextNode(
        " · " + d.labelTokens + " " + info.prompt_tokens + " + " + info.completion_tokens + " · "));
      var link = el("a", "", requestId);
      link.href = d.logsUrl + encodeURIComponent(requestId);
      meta.appendChild(link);
    }

    function showError(target, message) {
      target.textContent = d.labelError + ": " + message;
      target.parentNode.classList.add("failed");
    }

    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      var prompt = form.elements.prompt.value.trim();
      if (!prompt) return;
      var messages = [];
      var system = form.elements.system.value.trim();
      if (system) messages.push({ role: "system", content: system });
      history.push({ role: "user", content: prompt });
      messages = messages.concat(history);
      bubble("user", d.labelYou, prompt);
      var answer = bubble("assistant", d.labelAssistant, "");
      answer.parentNode.classList.add("streaming");
      form.elements.prompt.value = "";
      meta.textContent = d.labelSending;
      send.disabled = true;

      var body = new URLSearchParams();
      body.set("csrf", form.elements.csrf.value);
      body.set("model", form.elements.model.value.trim());
      body.set("messages", JSON.stringify(messages));
      var text = "";
      try {
        var resp = await fetch(d.streamUrl, { method: "POST", body: body, credentials: "same-origin" });
        var requestId = resp.headers.get("x-request-id") || "";
        if (!resp.ok) {
          var problem = await resp.json().catch(function () { return {}; });
          history.pop();
          meta.textContent = "";
          showError(answer, (problem.error && problem.error.message) || resp.status);
          return;
        }
        var reader = resp.body.getReader();
        var decoder = new TextDecoder();
        var buffer = "";
        for (;;) {
          var part = await reader.read();
          if (part.done) break;
          buffer += decoder.decode(part.value, { stream: true }).replace(/\r\n/g, "\n");
          var cut;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            var ev = parseEvent(buffer.slice(0, cut));
            buffer = buffer.slice(cut + 2);
            if (!ev.data || ev.data === "[DONE]") continue;
            var data = JSON.parse(ev.data);
            if (ev.event === "banjia") {
              showMeta(data, requestId);
            } else if (data.error) {
              showError(answer, data.error.message);
            } else if (data.choices && data.choices.length && data.choices[0].delta) {
              var piece = data.choices[0].delta.content;
              if (piece) {
                text += piece;
                answer.textContent = text;
              }
            }
          }
        }
        history.push({ role: "assistant", content: text });
      } catch (e) {
        showError(answer, String(e));
      } finally {
        answer.parentNode.classList.remove("streaming");
        send.disabled = false;
      }
    });
  }

  function init(root) {
    charts(root);
    copyButtons(root);
    var form = root.querySelector ? root.querySelector("#playground") : null;
    if (!form && root.id === "playground") form = root;
    if (form) playground(form);
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (e) { init(e.detail.elt); });
  document.addEventListener("htmx:beforeSwap", function (e) {
    if (e.detail.target) disposeCharts(e.detail.target);
  });
  var pending = null;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(resizeCharts, 150);
  });
})();
