// Test-only JS for tests/channels.rs: things that are plain JavaScript by nature
// (`for await`, and the failure-handling tutorial's client code as written).

// `for await` over `channel` until `n` items arrived or the channel ended. The iterator is
// created synchronously, so messages published after this call returns are not missed.
export async function collect(channel, n) {
  const out = [];
  if (n <= 0) return out;
  for await (const data of channel) {
    out.push(data);
    if (out.length >= n) break;
  }
  return out;
}

// A listener that pushes its first argument onto `list`.
export function pusher(list) {
  return function (data) {
    list.push(data);
  };
}

// The client code of SocketCluster's failure-handling tutorial, as written in the issue, with
// the `/* … */` placeholders filled in by recording into `log`. `form` picks which of the two
// answers the tutorial shows the `ping` listener gives: 'success' → `res(null, 'Success')`,
// 'error' → `res('Error message')`.
// Resolves with the (live) log once the emit and publish callbacks ran and `pong` is subscribed.
export function runTutorial(socket, form) {
  const log = {
    emitCalls: [],
    publishCalls: [],
    subscribeFail: [],
    subscribe: [],
    pongs: [],
    pings: [],
  };
  let left = 3;
  let done;
  const ready = new Promise((r) => (done = r));
  const step = () => {
    if (--left === 0) done(log);
  };

  // ---- the tutorial's client code ----
  socket.emit('ping', 'This is a ping', function (err) {
    /* err == null on success */
    log.emitCalls.push(err);
    step();
  });
  socket.publish('pong', 'This is a pong', function (err) {
    log.publishCalls.push(err);
    step();
  });
  var pongChannel = socket.subscribe('pong');
  pongChannel.on('subscribeFail', function (err, channelName) {
    log.subscribeFail.push([err, channelName]);
  });
  pongChannel.on('subscribe', function (channelName) {
    log.subscribe.push(channelName);
    step();
  });
  pongChannel.watch(function (data) {
    /* runs for every publish to 'pong' */
    log.pongs.push(data);
  });
  if (form === 'error') {
    socket.on('ping', function (data, res) {
      log.pings.push(data);
      res('Error message');
    });
  } else {
    socket.on('ping', function (data, res) {
      log.pings.push(data);
      res(null, 'Success');
    });
  }
  // ---- end of the tutorial's client code ----

  return ready;
}
