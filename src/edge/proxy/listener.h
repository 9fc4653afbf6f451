// A traffic listener: accepts on one port and hands each connection to the next worker's event
// loop (round robin), where an HTTP or TCP session serves it. One per LB listener or per
// accelerator port.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mysfits/common/result.h"
#include "proxy/context.h"

namespace mysfits::edge {

class listener {
 public:
  listener(std::vector<worker_context*> workers, forwarding_mode mode);
  // Binds address:port (port 0 picks one) and starts accepting on the first worker's loop.
  [[nodiscard]] result<void> start(const std::string& address, std::uint16_t port);
  std::uint16_t port() const { return port_; }
  // Stops accepting (posted to the accepting loop).
  void stop();
  // Destroys the acceptor; only once the loops have stopped, before they are destroyed. The
  // stats stay alive for the sessions that the loops' destruction ends.
  void release();

 private:
  boost::asio::awaitable<void> accept_loop();

  std::vector<worker_context*> workers_;
  forwarding_mode mode_;
  std::optional<boost::asio::ip::tcp::acceptor> acceptor_;
  std::uint16_t port_ = 0;
  std::unique_ptr<listener_stats> stats_;
};

}  // namespace mysfits::edge
