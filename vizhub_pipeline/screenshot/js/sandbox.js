// Runs before any script of the page (an init script of the screenshot stage's browser context).
// Seeds Math.random and neutralises dialogs and pop-ups, so a page renders the same every time
// and cannot block the run; removes WebRTC, the one way out that routes cannot see.
(() => {
  let state = (__SEED__ >>> 0) || 1;
  // mulberry32: a small, fast, well-mixed 32-bit generator
  Math.random = function random() {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const quiet = (value) => function () { return value; };
  window.alert = quiet(undefined);
  window.confirm = quiet(false);
  window.prompt = quiet(null);
  window.print = quiet(undefined);
  window.open = quiet(null);
  // WebRTC talks to STUN/TURN servers over UDP, which routes never see: take it away. This
  // script runs in every frame, so a child frame's copy is gone as well.
  for (const name of ["RTCPeerConnection", "webkitRTCPeerConnection", "RTCDataChannel", "RTCIceTransport", "RTCDtlsTransport", "RTCSctpTransport"]) {
    try {
      Object.defineProperty(window, name, { value: undefined, writable: false, configurable: false });
    } catch (error) { /* not defined in this browser */ }
  }
})();
