// The tables of the config floor's named choices (choices.h says how to add one).
#include "framework/config/experiment.h"

namespace dlx::config {

const std::vector<Choice<CacheKind>>& Choices<CacheKind>::all() {
  static const std::vector<Choice<CacheKind>> table{
      {CacheKind::kAuto, "auto", "memory when the decoded images fit in half the free memory"},
      {CacheKind::kMemory, "memory", "decode once, on all cores; later epochs read memory"},
      {CacheKind::kNone, "none", "decode each batch's files again, on a pool of threads"}};
  return table;
}

const std::vector<Choice<OptimizerKind>>& Choices<OptimizerKind>::all() {
  static const std::vector<Choice<OptimizerKind>> table{
      {OptimizerKind::kSgd, "sgd", "SGD, with momentum, Nesterov and weight decay"},
      {OptimizerKind::kAdam, "adam", "Adam (weight decay as an L2 penalty)"},
      {OptimizerKind::kAdamW, "adamw", "AdamW (decoupled weight decay)"}};
  return table;
}

const std::vector<Choice<SchedulerKind>>& Choices<SchedulerKind>::all() {
  static const std::vector<Choice<SchedulerKind>> table{
      {SchedulerKind::kNone, "none", "the optimizer's lr throughout (after any warm-up)"},
      {SchedulerKind::kStep, "step", "lr x gamma every step_size epochs"},
      {SchedulerKind::kMultistep, "multistep", "lr x gamma after each of the milestones"},
      {SchedulerKind::kCosine, "cosine", "cosine decay from lr to min_lr over the epochs"}};
  return table;
}

const std::vector<Choice<InitKind>>& Choices<InitKind>::all() {
  static const std::vector<Choice<InitKind>> table{
      {InitKind::kDefault, "default", "LibTorch's own initialisation"},
      {InitKind::kXavierUniform, "xavier_uniform", "Glorot uniform (d2l's AlexNet)"},
      {InitKind::kXavierNormal, "xavier_normal", "Glorot normal"},
      {InitKind::kKaimingUniform, "kaiming_uniform", "He uniform, fan-in, for ReLU"},
      {InitKind::kKaimingNormal, "kaiming_normal", "He normal, fan-in, for ReLU"}};
  return table;
}

const std::vector<Choice<SelectKind>>& Choices<SelectKind>::all() {
  static const std::vector<Choice<SelectKind>> table{
      {SelectKind::kAuto, "auto", "val_acc when there is validation, else the last epoch"},
      {SelectKind::kLast, "last", "the last epoch"},
      {SelectKind::kValAcc, "val_acc", "the epoch of highest validation accuracy"},
      {SelectKind::kValLoss, "val_loss", "the epoch of lowest validation loss"},
      {SelectKind::kEma, "ema", "train.ema's average at the last epoch"},
      {SelectKind::kEmaValAcc, "ema_val_acc",
       "train.ema's average at the epoch of its highest validation accuracy"},
      {SelectKind::kEmaValLoss, "ema_val_loss",
       "train.ema's average at the epoch of its lowest validation loss"}};
  return table;
}

const std::vector<Choice<PrecisionKind>>& Choices<PrecisionKind>::all() {
  static const std::vector<Choice<PrecisionKind>> table{
      {PrecisionKind::kFp32, "fp32", "float32 throughout"},
      {PrecisionKind::kBf16, "bf16",
       "bfloat16 autocast, as torch.autocast: fast where the CPU has AVX512-BF16 or AMX, and on "
       "GPUs from Ampere on; elsewhere dlx says so and trains in fp32. On the CPU, depthwise "
       "convolutions with windows over 3x3 train in float32 (faster there)"},
      {PrecisionKind::kFp16, "fp16",
       "float16 autocast on a CUDA GPU, with dynamic loss scaling as torch.cuda.amp.GradScaler "
       "(steps whose gradients overflow are skipped and counted); on the CPU dlx says so and "
       "trains in fp32"}};
  return table;
}

}  // namespace dlx::config
