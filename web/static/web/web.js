/* Shared helpers of the web pages: JSON calls to the API with the CSRF token, errors
   beside their fields, amounts in whole units <-> base units (strings, never floats),
   address checks as you type, copy buttons and confirmations before an action. */
"use strict";

window.Exchange = (function () {
  const DECIMALS = { BTC: 8, XMR: 12 };

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  /* POST a JSON body; resolve to {ok, status, data} whatever the answer. */
  async function postJSON(url, body) {
    let response;
    try {
      response = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRFToken": csrfToken(),
        },
        body: JSON.stringify(body || {}),
      });
    } catch (error) {
      return { ok: false, status: 0, data: { message: "The server cannot be reached; try again." } };
    }
    let data;
    try {
      data = await response.json();
    } catch (error) {
      data = { message: `The server answered ${response.status}; try again.` };
    }
    return { ok: response.ok, status: response.status, data: data };
  }

  async function getJSON(url) {
    const response = await fetch(url, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" },
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return response.json();
  }

  /* Show (or clear, with "") the error of the input with this id, beside it. */
  function showError(inputId, text) {
    const box = document.getElementById(`${inputId}_error`);
    const input = document.getElementById(inputId);
    if (box) box.textContent = text || "";
    if (!input || !input.matches("input, textarea, select")) return;
    if (text) {
      input.setAttribute("aria-invalid", "true");
      const described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
      if (!described.includes(`${inputId}_error`)) {
        described.push(`${inputId}_error`);
        input.setAttribute("aria-describedby", described.join(" "));
      }
    } else {
      input.removeAttribute("aria-invalid");
    }
  }

  /* Split an API error body: {"field": ["message"], "message": ..., "code": ...}. */
  function apiErrors(data) {
    const fields = {};
    for (const [key, value] of Object.entries(data || {})) {
      if (["message", "code", "extra", "detail", "non_field_errors"].includes(key)) continue;
      fields[key] = Array.isArray(value) ? value.join(" ") : String(value);
    }
    let general = (data && (data.message || data.detail)) || "";
    if (data && Array.isArray(data.non_field_errors)) general = data.non_field_errors.join(" ");
    return { fields: fields, general: String(general) };
  }

  function debounce(fn, ms) {
    let timer = null;
    return function (...args) {
      clearTimeout(timer);
      timer = setTimeout(() => fn.apply(this, args), ms);
    };
  }

  /* "0.01", "BTC" -> "1000000": string arithmetic only. Throws an Error with the reason. */
  function toBaseUnits(text, currency) {
    const places = DECIMALS[currency];
    const value = String(text).trim().replace(",", ".");
    if (!/^[0-9]*\.?[0-9]*$/.test(value) || value === "" || value === ".") {
      throw new Error(`enter an amount in ${currency}, such as 0.01`);
    }
    const [whole, fraction = ""] = value.split(".");
    if (fraction.length > places) throw new Error(`${currency} has at most ${places} decimal places`);
    const digits = (whole + fraction.padEnd(places, "0")).replace(/^0+/, "");
    if (!digits) throw new Error("must be more than zero");
    if (digits.length > 20) throw new Error("that amount is too large");
    return digits;
  }

  /* "1000000", "BTC" -> "0.01" (trailing zeros dropped). */
  function toWhole(baseUnits, currency) {
    const places = DECIMALS[currency];
    const digits = String(baseUnits).replace(/^0+/, "").padStart(places + 1, "0");
    const whole = digits.slice(0, -places);
    const fraction = digits.slice(-places).replace(/0+$/, "");
    return fraction ? `${whole}.${fraction}` : whole;
  }

  /* Base units shown in whole units, with the base units in a tooltip. */
  function amountText(baseUnits, currency) {
    return `${toWhole(baseUnits, currency)} ${currency}`;
  }

  function setAmount(element, baseUnits, currency) {
    element.textContent = amountText(baseUnits, currency);
    element.title = `${baseUnits} ${currency === "BTC" ? "satoshi" : "piconero"}`;
  }

  /* Inputs with data-validate="address" are checked through the API as the customer
     types; the currency is data-currency, or the value of the data-currency-source select. */
  function wireAddress(input) {
    const source = input.dataset.currencySource
      ? document.getElementById(input.dataset.currencySource)
      : null;
    const okBox = document.getElementById(`${input.id}_ok`);
    let sequence = 0;

    async function check() {
      const address = input.value.trim();
      const currency = source ? source.value : input.dataset.currency;
      const mine = ++sequence;
      delete input.dataset.valid;
      if (!address) {
        showError(input.id, "");
        if (okBox) okBox.textContent = "";
        return;
      }
      const url = document.body.dataset[currency === "BTC" ? "validateBtc" : "validateXmr"];
      const answer = await postJSON(url, { address: address });
      if (mine !== sequence) return;
      if (answer.ok && answer.data.valid) {
        input.dataset.valid = "1";
        showError(input.id, "");
        if (okBox) okBox.textContent = `✓ a valid ${answer.data.network} ${currency} address`;
      } else {
        input.dataset.valid = "0";
        if (okBox) okBox.textContent = "";
        const errors = apiErrors(answer.data);
        showError(input.id, answer.data.error || errors.fields.address || errors.general);
      }
    }

    input.addEventListener("input", debounce(check, 300));
    input.addEventListener("revalidate", check);
    if (source) source.addEventListener("change", check);
    if (input.value.trim()) check();
  }

  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return;
    }
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }

  function wireCopy(button) {
    button.addEventListener("click", async () => {
      const target = button.dataset.copyTarget && document.getElementById(button.dataset.copyTarget);
      const text = target ? target.textContent.trim() : button.dataset.copy;
      const feedback = document.getElementById("copy-feedback");
      try {
        await copyText(text);
        button.textContent = "Copied";
        if (feedback) feedback.textContent = `Copied ${text}`;
      } catch (error) {
        if (feedback) feedback.textContent = "Copying failed: select the text and copy it.";
      }
      setTimeout(() => { button.textContent = "Copy"; }, 2000);
    });
  }

  /* Action forms ask first; the answer travels as confirmed=1 (without JavaScript the
     server asks on a page of its own). */
  function wireConfirm(form) {
    form.addEventListener("submit", (event) => {
      const confirmed = form.elements.namedItem("confirmed");
      if (!window.confirm(form.dataset.confirm)) {
        event.preventDefault();
        return;
      }
      if (confirmed) confirmed.value = "1";
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll('input[data-validate="address"]').forEach(wireAddress);
    document.querySelectorAll("button.copy").forEach(wireCopy);
    document.querySelectorAll("form[data-confirm]").forEach(wireConfirm);
  });

  return {
    DECIMALS: DECIMALS,
    apiErrors: apiErrors,
    amountText: amountText,
    debounce: debounce,
    getJSON: getJSON,
    postJSON: postJSON,
    setAmount: setAmount,
    showError: showError,
    toBaseUnits: toBaseUnits,
    toWhole: toWhole,
  };
})();
