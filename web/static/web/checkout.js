/* Checkout, order and invoice pages: the status polled from the page's status URL every
   few seconds, the countdown to expiry, the swap's two choices when action is required,
   a fresh page when what is due changes (a new amount and QR code), and the way back to
   the shop once an invoice is settled. */
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const X = window.Exchange;
  const box = document.getElementById("status");
  if (!box) return;
  const POLL_MS = 2500;
  const label = document.getElementById("status-label");
  const detail = document.getElementById("status-detail");
  const steps = Array.from(document.querySelectorAll("#steps li"));
  const countdown = document.getElementById("countdown");
  const countdownValue = document.getElementById("countdown-value");
  const actions = document.getElementById("swap-actions");
  const changed = document.getElementById("status-changed");
  const payBox = document.getElementById("pay");
  const payClosed = document.getElementById("pay-closed");
  const qrBox = document.getElementById("qr-box");
  const back = document.getElementById("status-return");
  const initialState = box.dataset.state;
  let deadline = null;
  let leaving = false;

  function clock(seconds) {
    const hours = Math.floor(seconds / 3600);
    const minutes = Math.floor((seconds % 3600) / 60);
    const secs = String(seconds % 60).padStart(2, "0");
    return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${secs}` : `${minutes}:${secs}`;
  }

  function showExpired() {
    deadline = null;
    if (payBox) {
      payBox.classList.add("is-closed");
      payClosed.hidden = false;
      if (qrBox) qrBox.hidden = true;
    }
    countdown.hidden = false;
    countdown.classList.add("is-expired");
    countdownValue.textContent = "expired";
  }

  function tick() {
    if (!countdown || deadline === null) return;
    const left = Math.max(0, Math.ceil((deadline - performance.now()) / 1000));
    if (left <= 0) showExpired();
    else countdownValue.textContent = clock(left);
  }

  function setCountdown(status) {
    if (!countdown) return;
    if (status.expired) {
      showExpired();
    } else if (status.expires_in === null || status.expires_in === undefined || status.expires_in === "") {
      deadline = null;
      countdown.hidden = true;
    } else {
      deadline = performance.now() + Number(status.expires_in) * 1000;
      countdown.hidden = false;
      countdown.classList.remove("is-expired");
      tick();
    }
  }

  function render(status) {
    box.dataset.state = status.state;
    box.className = `card status tone-${status.tone}`;
    label.textContent = status.label;
    detail.textContent = status.detail;
    steps.forEach((step, index) => step.classList.toggle("done", index < status.step));
    setCountdown(status);
    if (actions) actions.hidden = !status.action_required;
    if (payBox) {
      payBox.classList.toggle("is-closed", status.closed);
      payClosed.hidden = !status.closed;
      if (qrBox) qrBox.hidden = !status.payable;
    }
    if (changed) changed.hidden = status.state === initialState;
    if (back) back.hidden = !status.return_url;
    if (status.return_url && status.redirect_automatically && !leaving) {
      leaving = true;
      const seconds = Number((back && back.dataset.redirectSeconds) || 0);
      setTimeout(() => window.location.assign(status.return_url), seconds * 1000);
    }
  }

  /* The page's amount and QR code are the server's: when what is due changes (a part
     paid), the page is fetched again rather than drawn here. */
  function dueChanged(status) {
    return Boolean(payBox) && status.due !== undefined && status.due !== null && String(status.due) !== payBox.dataset.due;
  }

  async function poll() {
    try {
      const status = await X.getJSON(box.dataset.url);
      if (dueChanged(status)) {
        window.location.reload();
        return;
      }
      render(status);
      if (status.final) return;
    } catch (error) {
      /* A missed poll is retried at the next tick. */
    }
    setTimeout(poll, POLL_MS);
  }

  if (actions) {
    actions.querySelectorAll("button[data-swap-action]").forEach((button) => {
      button.addEventListener("click", async () => {
        if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
        const url = button.dataset.swapAction === "accept" ? actions.dataset.acceptUrl : actions.dataset.refundUrl;
        X.showError("swap-actions", "");
        actions.querySelectorAll("button").forEach((b) => { b.disabled = true; });
        const answer = await X.postJSON(url, {});
        actions.querySelectorAll("button").forEach((b) => { b.disabled = false; });
        if (!answer.ok) {
          X.showError("swap-actions", X.apiErrors(answer.data).general || "That did not work; try again.");
          return;
        }
        try {
          render(await X.getJSON(box.dataset.url));
        } catch (error) {
          /* The next poll shows it. */
        }
      });
    });
  }

  if (countdown && countdown.dataset.expiresIn !== "") {
    deadline = performance.now() + Number(countdown.dataset.expiresIn) * 1000;
  }
  setInterval(tick, 1000);
  if (!box.dataset.final) setTimeout(poll, POLL_MS);
});
