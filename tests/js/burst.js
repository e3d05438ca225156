// The official client sends a burst: node burst.js URL COUNT TRANSPORTS
// (TRANSPORTS: "polling", "websocket" or "polling,websocket"), COUNT emits
// of 'count' in one loop, then asks 'total' (the server's count of those
// it handled) until it reaches COUNT.  Prints {"total": N} or {"error"}.
const { io } = require('socket.io-client');

const [url, count, transports] = [process.argv[2], Number(process.argv[3]),
                                  process.argv[4].split(',')];
const socket = io(url, { transports, reconnection: false });
let last = null;
const timer = setTimeout(() => finish({ error: 'timeout', last }), 15000);

function finish(result) {
  clearTimeout(timer);
  console.log(JSON.stringify(result));
  socket.close();
}

socket.on('connect', () => {
  for (let i = 0; i < count; i++) socket.emit('count', i);
  const ask = () => socket.emit('total', (total) => {
    last = total;
    if (total >= count) finish({ total, transport: socket.io.engine.transport.name });
    else setTimeout(ask, 50);
  });
  ask();
});
socket.on('connect_error', (err) => finish({ error: String(err) }));
