// Facts about the machine a run happens on, for the report's environment section.
#pragma once

#include <cstdint>
#include <string>

namespace dlx {

/// Physical CPU cores (hyper-threads not counted); at least 1.
int physical_cores();
/// "AMD EPYC 7B13", or "unknown".
std::string cpu_model();
std::string host_name();
/// The name of CUDA device `index` as the driver gives it ("NVIDIA H100 80GB HBM3"), or "" where
/// there is no driver. Asks libcuda directly, so that a LibTorch without CUDA headers can build it.
std::string cuda_device_name(int index);
/// The BLAS library this process loaded (from /proc/self/maps), or "" if none is mapped.
std::string loaded_blas();
/// Whether `blas_path` is the slow reference BLAS (Debian's libblas3).
bool is_reference_blas(const std::string& blas_path);
/// The most resident memory this process has held so far, in MiB.
double peak_rss_mib();
/// Memory the kernel could give this process without swapping (MemAvailable), in bytes; 0 when
/// /proc/meminfo cannot be read.
int64_t available_memory_bytes();
/// Now, as ISO 8601 UTC with milliseconds: 2026-11-22T14:03:07.123Z.
std::string utc_now();

}  // namespace dlx
