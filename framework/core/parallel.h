// Plain work spread over threads, for what is not a tensor operation (decoding image files).
// std::threads rather than LibTorch's OpenMP pool: the caller may be the prefetching thread,
// whose OpenMP team is one thread on purpose (see data/batches.cpp).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <thread>
#include <vector>

namespace dlx {

/// Calls fn(i) for every i in [0, n) on up to `threads` new threads (0 = one per hardware
/// thread), handing out indices in order; the caller waits (its own thread settings stay as they
/// are). The first exception thrown is rethrown here after all stop.
template <class Fn>
void parallel_each(int64_t n, Fn fn, int threads = 0) {
  if (threads <= 0) threads = int(std::max(1u, std::thread::hardware_concurrency()));
  threads = int(std::min<int64_t>(threads, n));
  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  auto work = [&] {
    for (int64_t i; !failed && (i = next++) < n;) {
      try {
        fn(i);
      } catch (...) {
        if (!failed.exchange(true)) error = std::current_exception();
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(work);
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace dlx
