// 1:1 calls (webcam or voice) from an accepted private conversation. Loaded on the first call
// (features.js keeps the buttons and loads this), then mixed into App.
// Signalling goes over the WebSocket (call_invite / call_answer / call_signal / call_hangup);
// media go peer to peer through the TURN relay only (iceTransportPolicy 'relay'), so neither
// side learns the other's address. Nothing is sent or shown before the callee accepts; a
// stranger's camera arrives blurred until "Voir". Nothing is recorded: a report takes one
// still frame of the remote video, here, and attaches it to the report.
import { t } from './i18n.js';
import { toast } from './dom.js';
import { showCallPanel, setCallState, hideCallPanel, captureFrame } from './ui/calls.js';
import { upload } from './ui/media.js';

export const calls = {

  async startCall(video) {
    const c = this.convByStream(this.state.active);
    if (!c || this.call) return;
    let ev;
    try {
      ev = await this.conn.request({ type: 'call_invite', user: c.peer.id, video });
    } catch (err) {
      toast(this.callErrorText(err), { kind: 'error', timeout: 10000 });
      return;
    }
    if (ev.state === 'ended') { toast(t(`calls.ended_${ev.reason}`, { name: ev.peer.pseudo }), { kind: 'error' }); return; }
    this.openCall(ev);
  },

  callErrorText(err) {
    if (err?.code === 'calls_off') return t('errors.calls_off');
    if (err?.code === 'restricted') return t('calls.restricted');
    if (err?.code === 'busy') return t('errors.busy');
    return this.errorText(err);
  },

  openCall(ev) {
    this.call = {
      id: ev.call, role: ev.role, peer: ev.peer, video: !!ev.video, direct: !!ev.direct,
      friend: !!ev.friend, ice: ev.ice_servers || [], state: ev.state, connected: false,
      pc: null, local: null, pending: [], answering: false, t0: performance.now(),
    };
    const call = this.call;
    const els = showCallPanel(call, {
      accept: () => this.acceptCall(),
      decline: () => this.declineCall(),
      hangup: () => this.hangUp(),
      mute: () => this.toggleTrack('audio'),
      camera: () => this.toggleTrack('video'),
      report: () => this.reportCall(),
    });
    call.els = els;
    this.renderCallButtons();
  },

  onCall(ev) {
    const call = this.call;
    if (ev.state === 'ringing' && ev.role === 'callee') {
      if (call) return; // already in a call here: the caller sees it ring out
      this.openCall(ev);
      toast(t('calls.incoming', { name: ev.peer.pseudo }));
      return;
    }
    if (!call || call.id !== ev.call) return;
    if (ev.state === 'ended') { this.endCall(ev.reason); return; }
    if (ev.state === 'active' && call.state === 'ringing') {
      if (call.role === 'callee' && !call.answering) { this.endCall('elsewhere'); return; }
      call.state = 'active';
      if (ev.ice_servers?.length) call.ice = ev.ice_servers;
      setCallState(call);
      if (call.role === 'caller') this.makeOffer().catch((e) => this.callFailed(e));
    }
  },

  async media(call) {
    call.local = await navigator.mediaDevices.getUserMedia({ audio: true, video: call.video });
    call.els.local.srcObject = call.local;
  },

  peer(call) {
    const pc = new RTCPeerConnection({ iceServers: call.ice, iceTransportPolicy: call.direct ? 'all' : 'relay' });
    call.pc = pc;
    for (const track of call.local.getTracks()) pc.addTrack(track, call.local);
    pc.onicecandidate = (e) => {
      if (e.candidate && e.candidate.candidate) this.conn.send({ type: 'call_signal', call: call.id, candidate: e.candidate.toJSON() });
    };
    pc.ontrack = (e) => { call.els.remote.srcObject = e.streams[0] || new MediaStream([e.track]); };
    pc.onconnectionstatechange = () => {
      if (this.call !== call) return;
      if (pc.connectionState === 'connected' && !call.connected) {
        call.connected = true;
        call.setupMs = Math.round(performance.now() - call.t0);
        setCallState(call);
      } else if (pc.connectionState === 'failed') {
        this.callFailed(new Error('ice failed'));
      }
    };
    return pc;
  },

  async makeOffer() {
    const call = this.call;
    await this.media(call);
    const pc = this.peer(call);
    await pc.setLocalDescription(await pc.createOffer());
    this.conn.send({ type: 'call_signal', call: call.id, sdp: { type: pc.localDescription.type, sdp: pc.localDescription.sdp } });
  },

  async acceptCall() {
    const call = this.call;
    if (!call || call.answering) return;
    call.answering = true;
    setCallState(call);
    try {
      await this.media(call);
      this.peer(call);
      const ev = await this.conn.request({ type: 'call_answer', call: call.id, accept: true });
      if (this.call !== call) return;
      call.state = ev.state;
      if (ev.ice_servers?.length) call.pc.setConfiguration({ iceServers: ev.ice_servers, iceTransportPolicy: call.direct ? 'all' : 'relay' });
      setCallState(call);
    } catch (err) {
      toast(this.callErrorText(err), { kind: 'error' });
      this.endCall(null);
    }
  },

  declineCall() {
    const call = this.call;
    if (!call) return;
    this.conn.send({ type: 'call_answer', call: call.id, accept: false });
    this.endCall(null);
  },

  hangUp() {
    const call = this.call;
    if (!call) return;
    this.conn.send({ type: 'call_hangup', call: call.id });
    this.endCall(null);
  },

  callFailed(err) {
    console.warn('call failed', err);
    if (!this.call) return;
    toast(t(err?.name === 'NotAllowedError' ? 'calls.no_device' : 'calls.failed'), { kind: 'error' });
    this.hangUp();
  },

  async onCallSignal(ev) {
    const call = this.call;
    if (!call || call.id !== ev.call || !call.pc) return;
    const pc = call.pc;
    try {
      if (ev.sdp) {
        await pc.setRemoteDescription(ev.sdp);
        if (ev.sdp.type === 'offer') {
          await pc.setLocalDescription(await pc.createAnswer());
          this.conn.send({ type: 'call_signal', call: call.id, sdp: { type: pc.localDescription.type, sdp: pc.localDescription.sdp } });
        }
        for (const c of call.pending.splice(0)) await pc.addIceCandidate(c);
      } else if (ev.candidate) {
        if (pc.remoteDescription) await pc.addIceCandidate(ev.candidate);
        else call.pending.push(ev.candidate);
      }
    } catch (err) {
      this.callFailed(err);
    }
  },

  toggleTrack(kind) {
    const tracks = this.call?.local?.getTracks().filter((x) => x.kind === kind) || [];
    const off = tracks.some((x) => x.enabled);
    for (const x of tracks) x.enabled = !off;
    return off;
  },

  endCall(reason) {
    const call = this.call;
    if (!call) return;
    this.call = null;
    try { call.pc?.close(); } catch { /* ignore */ }
    for (const track of call.local?.getTracks() || []) track.stop();
    hideCallPanel();
    if (reason && reason !== 'hangup_self') toast(t(`calls.ended_${reason}`, { name: call.peer.pseudo }));
    this.lastCall = { id: call.id, setupMs: call.setupMs ?? null, reason };
    this.renderCallButtons();
  },

  /** A still frame of the remote video, captured here, uploaded, attached to a report. */
  async reportCall() {
    const call = this.call;
    if (!call) return;
    let media = null;
    const frame = call.video ? await captureFrame(call.els.remote) : null;
    if (frame) {
      const res = await upload(frame, () => {}).promise;
      if (res.media) media = res.media.id;
      else toast(t('calls.frame_failed'), { kind: 'error' });
    }
    const target = { target: 'user', user: call.peer.id, who: t(media ? 'calls.report_subject_frame' : 'calls.report_subject', { name: call.peer.pseudo }) };
    if (media) target.media = media;
    this.openReport(target);
  },
};
