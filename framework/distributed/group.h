// Data-parallel training on c10d, PyTorch's own distributed engine: a TCPStore for the rendezvous
// and a Gloo process group for the collectives (CPU tensors; Debian's LibTorch has no NCCL). The
// ranks find each other through the variables torchrun and srun set. Only this file's .cpp
// includes c10d's headers.
#pragma once

#include <ATen/core/Tensor.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace dlx::distributed {

struct Rendezvous {
  int rank = 0;
  int world = 1;
  int local_rank = 0;
  std::string addr = "127.0.0.1";
  int port = 29500;
};

/// torchrun's RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT; without them, Slurm's
/// SLURM_PROCID, SLURM_NTASKS and SLURM_LOCALID (with MASTER_ADDR/PORT still needed when the
/// world has more than one rank). A world of 1 when neither is set. Bad values: a ConfigError.
Rendezvous rendezvous_from_environment();

class Group {
 public:
  /// Joins the others (rank 0 serves the store). Every collective fails after `timeout` rather
  /// than wait forever on a rank that died; a peer's closed connection fails it at once.
  Group(const Rendezvous& where, std::chrono::milliseconds timeout);
  ~Group();
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  int rank() const { return where_.rank; }
  int world() const { return where_.world; }

  /// Sums `tensor` over the ranks, in place.
  void allreduce_sum(at::Tensor& tensor);
  /// Copies rank 0's `tensor` into every rank's, in place.
  void broadcast(at::Tensor& tensor);

 private:
  struct Impl;
  Rendezvous where_;
  std::unique_ptr<Impl> impl_;
};

/// Averages gradients after backward, weighting each rank by its examples in the step, in
/// buckets of about `bucket_bytes`; carries each rank's stop and divergence flags in the same
/// messages, so that every rank stops, or diverges, at the same step.
class GradientSync {
 public:
  GradientSync(Group& group, std::vector<at::Tensor> parameters, int64_t bucket_bytes = 25 << 20);

  struct Flags {
    bool stop = false;      // some rank was asked to stop
    bool diverged = false;  // some rank's loss was not finite
  };
  /// `examples`: this rank's examples in the step; `global_examples`: all ranks' together.
  Flags average(int64_t examples, int64_t global_examples, bool stop, const at::Tensor& loss);

  /// Rank 0's parameters and buffers, everywhere: the same start on every rank.
  static void broadcast_state(Group& group, const std::vector<at::Tensor>& tensors);

 private:
  Group& group_;
  std::vector<at::Tensor> parameters_;
  std::vector<std::vector<size_t>> buckets_;  // indices into parameters_
};

}  // namespace dlx::distributed
