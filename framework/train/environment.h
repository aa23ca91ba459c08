// Where and how a run trains, as its report records it: the device, the CPU threads, the machine
// and library versions, and the network's size layer by layer.
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <string>

#include "framework/nn/builder.h"
#include "framework/report/run_report.h"

namespace dlx::train {

/// Resolves `auto`, `cpu`, `cuda`, `cuda:N` to a device; an unavailable GPU is a RuntimeError.
c10::Device resolve_device(const std::string& name);

/// Intra-op threads: `requested`, or one per physical core when 0.
int configure_threads(int64_t requested);

/// The precision a run on `device` computes at: `requested`, or fp32 where bf16 was asked of a CPU
/// without bfloat16 arithmetic (it would be emulated, slower than fp32) or fp16 of a CPU (float16
/// with loss scaling is CUDA's half precision; CPUs without AVX512-FP16 emulate it); `note` then
/// says so.
config::PrecisionKind usable_precision(config::PrecisionKind requested, const c10::Device& device,
                                       std::string* note = nullptr);

/// The environment a run starts in (its end time is filled in when it ends).
report::EnvironmentRecord environment_record(const c10::Device& device, int threads);

/// The network as the report describes it: parameters, multiply-adds and each layer's shape.
report::ModelRecord model_record(const nn::Network& net, const std::string& name);

}  // namespace dlx::train
