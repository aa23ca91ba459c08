#include "framework/distributed/group.h"

#include <ATen/ops/cat.h>
#include <ATen/ops/isfinite.h>
#include <ATen/ops/stack.h>
#include <ATen/ops/zeros.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <cstdlib>

#include "framework/core/error.h"

namespace dlx::distributed {

namespace {

int env_int(const char* name, int fallback, int low, int high) {
  const char* text = std::getenv(name);
  if (!text || !*text) return fallback;
  char* end = nullptr;
  long value = std::strtol(text, &end, 10);
  if (*end != '\0' || value < low || value > high) {
    throw ConfigError::plain(Location{std::string("$") + name}, "",
                             "expected an integer from " + std::to_string(low) + " to " +
                                 std::to_string(high) + ", found '" + text + "'");
  }
  return static_cast<int>(value);
}

// c10d's messages run to several lines (with a C++ backtrace); the first says what happened.
std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

bool is_loopback(const std::string& addr) {
  return addr == "localhost" || addr.rfind("127.", 0) == 0 || addr == "::1";
}

}  // namespace

Rendezvous rendezvous_from_environment() {
  Rendezvous r;
  const bool torchrun = std::getenv("WORLD_SIZE") != nullptr;
  const char* world = torchrun ? "WORLD_SIZE" : "SLURM_NTASKS";
  r.world = env_int(world, 1, 1, 1 << 16);
  r.rank = env_int(torchrun ? "RANK" : "SLURM_PROCID", 0, 0, r.world - 1);
  r.local_rank = env_int(torchrun ? "LOCAL_RANK" : "SLURM_LOCALID", 0, 0, r.world - 1);
  if (const char* addr = std::getenv("MASTER_ADDR")) r.addr = addr;
  r.port = env_int("MASTER_PORT", r.port, 1, 65535);
  return r;
}

struct Group::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

Group::Group(const Rendezvous& where, std::chrono::milliseconds timeout)
    : where_(where), impl_(std::make_unique<Impl>()) {
  c10d::TCPStoreOptions store_options;
  store_options.port = static_cast<std::uint16_t>(where.port);
  store_options.isServer = where.rank == 0;
  store_options.numWorkers = where.world;
  store_options.timeout = timeout;
  try {
    impl_->store = c10::make_intrusive<c10d::TCPStore>(where.addr, store_options);
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    // On one machine, loopback; across machines, the address this host's name resolves to.
    options->devices.push_back(is_loopback(where.addr)
                                   ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                   : c10d::ProcessGroupGloo::createDefaultDevice());
    impl_->group =
        c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, where.rank, where.world, options);
  } catch (const std::exception& e) {
    throw RuntimeError("rank " + std::to_string(where.rank) + " of " + std::to_string(where.world) +
                       " could not join the others at " + where.addr + ":" +
                       std::to_string(where.port) + ": " + first_line(e.what()));
  }
}

Group::~Group() = default;

void Group::allreduce_sum(at::Tensor& tensor) {
  std::vector<at::Tensor> tensors{tensor};
  try {
    impl_->group->allreduce(tensors)->wait();
  } catch (const std::exception& e) {
    throw RuntimeError("rank " + std::to_string(rank()) + ": a collective with the other ranks " +
                       "failed (did one of them die?): " + first_line(e.what()));
  }
}

void Group::broadcast(at::Tensor& tensor) {
  std::vector<at::Tensor> tensors{tensor};
  try {
    impl_->group->broadcast(tensors)->wait();
  } catch (const std::exception& e) {
    throw RuntimeError("rank " + std::to_string(rank()) +
                       ": broadcast from rank 0 failed: " + first_line(e.what()));
  }
}

GradientSync::GradientSync(Group& group, std::vector<at::Tensor> parameters, int64_t bucket_bytes)
    : group_(group), parameters_(std::move(parameters)) {
  int64_t filled = bucket_bytes;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    if (!parameters_[i].requires_grad()) continue;
    if (filled >= bucket_bytes) buckets_.emplace_back(), filled = 0;
    buckets_.back().push_back(i);
    filled += parameters_[i].numel() * int64_t(parameters_[i].element_size());
  }
  if (buckets_.empty()) buckets_.emplace_back();  // the flags still travel
}

GradientSync::Flags GradientSync::average(int64_t examples, int64_t global_examples, bool stop,
                                          const at::Tensor& loss) {
  const double weight = double(examples) / double(global_examples);
  // The flags ride in the last bucket: [stop, not finite], summed over the ranks.
  at::Tensor flags = at::stack({at::zeros({}, loss.options()).add_(stop ? 1.0 : 0.0),
                                at::isfinite(loss.detach()).logical_not().to(loss.scalar_type())})
                         .to(at::kFloat);
  for (size_t b = 0; b < buckets_.size(); ++b) {
    std::vector<at::Tensor> parts;
    for (size_t i : buckets_[b]) {
      at::Tensor& p = parameters_[i];
      at::Tensor grad = p.grad().defined() ? p.grad() : at::zeros_like(p);
      parts.push_back(grad.reshape({-1}).mul(weight));
    }
    if (b + 1 == buckets_.size()) parts.push_back(flags.to(loss.device()));
    at::Tensor flat = at::cat(parts);
    group_.allreduce_sum(flat);
    int64_t offset = 0;
    for (size_t i : buckets_[b]) {
      at::Tensor& p = parameters_[i];
      at::Tensor summed = flat.narrow(0, offset, p.numel()).view_as(p);
      if (p.grad().defined())
        p.mutable_grad().copy_(summed);
      else
        p.mutable_grad() = summed.clone();
      offset += p.numel();
    }
    if (b + 1 == buckets_.size()) flags = flat.narrow(0, offset, 2).to(at::kCPU);
  }
  return Flags{flags[0].item<float>() > 0, flags[1].item<float>() > 0};
}

void GradientSync::broadcast_state(Group& group, const std::vector<at::Tensor>& tensors) {
  for (const at::Tensor& t : tensors) {
    at::Tensor data = t.detach().contiguous();  // Gloo sends dense, standard-layout tensors
    group.broadcast(data);
    if (data.data_ptr() != t.data_ptr()) t.detach().copy_(data);
  }
}

}  // namespace dlx::distributed
