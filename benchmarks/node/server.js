// The benchmarks' app on Node's socket.io: the events of e2e_broadcast.py
// and e2e_echo.py.  Usage: node server.js PORT
const { createServer } = require('http');
const { Server } = require('socket.io');

const http = createServer();
const io = new Server(http);
io.on('connection', (socket) => {
  socket.on('bcast', (data) => socket.broadcast.emit('msg', data));
  // acknowledged when the client asks for it, emitted back otherwise
  socket.on('echo', (data, ack) => (ack ? ack(data) : socket.emit('echo', data)));
});
http.listen(Number(process.argv[2]), '127.0.0.1');
