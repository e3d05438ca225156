// The official client, driven line by line: node peer.js URL LOCAL_ADDRESS
// connects from LOCAL_ADDRESS (a 127.x.y.z of this machine) with the
// client's default transports (long-polling, then the upgrade to
// WebSocket), prints {"event", "args"} for everything it receives (and for
// open, the Engine.IO session's, and upgrade, with the transport's name),
// and for each stdin line {"id", "event", "args"} emits the event, printing
// {"ack": id, "args"} when the server acknowledges.  Ends when stdin closes.
const http = require('http');
const readline = require('readline');
const { io } = require('socket.io-client');

const [url, localAddress] = process.argv.slice(2);
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
const socket = io(url, {
  agent: new http.Agent({ localAddress, keepAlive: true }),  // polling
  localAddress,                                              // WebSocket
  reconnection: false,
});
socket.io.on('open', () => {
  out({ event: 'open', args: [socket.io.engine.transport.name] });
  socket.io.engine.once('upgrade', (t) => out({ event: 'upgrade', args: [t.name] }));
});
socket.on('connect_error', (err) => out({ event: 'connect_error', args: [String(err)] }));
socket.on('disconnect', (reason) => out({ event: 'disconnect', args: [reason] }));
socket.onAny((event, ...args) => out({ event, args }));
readline.createInterface({ input: process.stdin })
  .on('line', (line) => {
    const { id, event, args } = JSON.parse(line);
    socket.emit(event, ...args, (...reply) => out({ ack: id, args: reply }));
  })
  .on('close', () => { socket.close(); process.exit(0); });
