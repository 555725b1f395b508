/* The swap page: live rate, quotes as the customer types either amount, address checks,
   and the swap created through the JSON API, then on to its checkout page. */
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const X = window.Exchange;
  const form = document.getElementById("swap-form");
  if (!form) return;
  const urls = form.dataset;
  const ZERO_ID = "00000000-0000-0000-0000-000000000000";
  const amountFrom = document.getElementById("amount_from");
  const amountTo = document.getElementById("amount_to");
  const payout = document.getElementById("payout_address");
  const refund = document.getElementById("refund_address");
  const button = document.getElementById("create-swap");
  const facts = {
    market: document.getElementById("market-rate"),
    rate: document.getElementById("quote-rate"),
    spread: document.getElementById("quote-spread"),
    fee: document.getElementById("quote-fee"),
    min: document.getElementById("quote-min"),
    max: document.getElementById("quote-max"),
    expiry: document.getElementById("quote-expiry"),
  };
  let rates = null;
  let quote = null;
  let lastEdited = "from";
  let sequence = 0;

  function direction() {
    const [from, to] = form.elements.namedItem("direction").value.split("-");
    return { from: from, to: to };
  }

  function kind() {
    return form.elements.namedItem("type").value;
  }

  function percent(bps) {
    const value = Number(bps);
    return `${Math.floor(value / 100)}.${String(value % 100).padStart(2, "0")} %`;
  }

  function shortRate(text) {
    const [whole, fraction = ""] = String(text).split(".");
    const kept = fraction.slice(0, 10).replace(/0+$/, "");
    return kept ? `${whole}.${kept}` : whole;
  }

  function showRates() {
    const { from, to } = direction();
    if (!rates) return;
    facts.market.textContent = `1 XMR = ${shortRate(rates.rate)} BTC (${Math.round(rates.age_seconds)} s old)`;
    if (!quote) {
      facts.spread.textContent = percent(rates.spread_bps[`${from}-${to}`]);
      facts.max.textContent = `${X.amountText(rates.available[to], to)} available to pay out`;
    }
  }

  async function loadRates() {
    try {
      rates = await X.getJSON(urls.ratesUrl);
      showRates();
    } catch (error) {
      facts.market.textContent = "unavailable right now";
    }
  }

  function clearQuote(text) {
    quote = null;
    facts.rate.textContent = text || "enter an amount";
    for (const name of ["fee", "min", "expiry"]) facts[name].textContent = "–";
    showRates();
  }

  function showQuote(q) {
    quote = q;
    const { from, to } = direction();
    facts.rate.textContent = `1 ${from} = ${shortRate(q.rate)} ${to}`;
    facts.spread.textContent = percent(q.spread_bps);
    X.setAmount(facts.fee, q.network_fee, to);
    X.setAmount(facts.min, q.min_from, from);
    X.setAmount(facts.max, q.max_from, from);
    facts.expiry.textContent = new Date(q.expires_at).toLocaleTimeString();
    if (lastEdited === "from") amountTo.value = X.toWhole(q.amount_to, to);
    else amountFrom.value = X.toWhole(q.amount_from, from);
  }

  async function requestQuote() {
    const { from, to } = direction();
    const input = lastEdited === "from" ? amountFrom : amountTo;
    const other = lastEdited === "from" ? amountTo : amountFrom;
    const field = lastEdited === "from" ? "amount_from" : "amount_to";
    X.showError("amount_from", "");
    X.showError("amount_to", "");
    const mine = ++sequence;
    if (!input.value.trim()) {
      other.value = "";
      clearQuote();
      return;
    }
    let baseUnits;
    try {
      baseUnits = X.toBaseUnits(input.value, lastEdited === "from" ? from : to);
    } catch (error) {
      X.showError(field, error.message);
      clearQuote("–");
      return;
    }
    facts.rate.textContent = "pricing…";
    const answer = await X.postJSON(urls.quotesUrl, {
      from_currency: from,
      to_currency: to,
      type: kind(),
      [field]: baseUnits,
    });
    if (mine !== sequence) return;
    if (answer.ok) {
      showQuote(answer.data);
      return;
    }
    other.value = "";
    clearQuote("–");
    const errors = X.apiErrors(answer.data);
    const extra = answer.data.extra || {};
    if (extra.min_from) X.setAmount(facts.min, extra.min_from, from);
    if (extra.max_from) X.setAmount(facts.max, extra.max_from, from);
    const text = errors.fields.amount_from || errors.fields.amount_to;
    if (text) X.showError(field, text);
    else X.showError("form", errors.general || "No quote right now; try again in a moment.");
  }

  const requestSoon = X.debounce(requestQuote, 350);

  function directionChanged() {
    const { from, to } = direction();
    form.querySelectorAll('[data-unit="from"]').forEach((el) => { el.textContent = from; });
    form.querySelectorAll('[data-unit="to"]').forEach((el) => { el.textContent = to; });
    payout.dataset.currency = to;
    refund.dataset.currency = from;
    payout.dispatchEvent(new Event("revalidate"));
    refund.dispatchEvent(new Event("revalidate"));
    X.showError("form", "");
    requestQuote();
  }

  amountFrom.addEventListener("input", () => { lastEdited = "from"; requestSoon(); });
  amountTo.addEventListener("input", () => { lastEdited = "to"; requestSoon(); });
  form.querySelectorAll('input[name="direction"]').forEach((radio) => {
    radio.addEventListener("change", directionChanged);
  });
  form.querySelectorAll('input[name="type"]').forEach((radio) => {
    radio.addEventListener("change", requestQuote);
  });

  function expiresSoon(q) {
    return !q || new Date(q.expires_at).getTime() - Date.now() < 30000;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    X.showError("form", "");
    let firstProblem = null;
    for (const input of [payout, refund]) {
      if (!input.value.trim()) X.showError(input.id, "an address is required");
      if (!input.value.trim() || input.dataset.valid === "0") firstProblem = firstProblem || input;
    }
    if (expiresSoon(quote)) await requestQuote();
    if (!quote) {
      if (!amountFrom.value.trim() && !amountTo.value.trim()) {
        X.showError("amount_from", "enter the amount to send, or the amount to receive");
      }
      firstProblem = amountFrom;
    }
    if (firstProblem) {
      firstProblem.focus();
      return;
    }
    button.disabled = true;
    button.textContent = "Creating the swap…";
    const answer = await X.postJSON(urls.swapsUrl, {
      quote_id: quote.id,
      payout_address: payout.value.trim(),
      refund_address: refund.value.trim(),
    });
    if (answer.ok) {
      window.location.assign(urls.checkoutUrl.replace(ZERO_ID, answer.data.id));
      return;
    }
    button.disabled = false;
    button.textContent = "Create swap";
    const errors = X.apiErrors(answer.data);
    let shown = false;
    for (const field of ["payout_address", "refund_address", "amount_from", "amount_to"]) {
      if (errors.fields[field]) {
        X.showError(field, errors.fields[field]);
        shown = true;
      }
    }
    if (errors.fields.quote_id) {
      X.showError("form", `${errors.fields.quote_id}. A new quote is shown: create the swap again.`);
      await requestQuote();
      shown = true;
    }
    if (!shown) X.showError("form", errors.general || "The swap could not be created; try again.");
  });

  loadRates();
  setInterval(loadRates, 60000);
});
