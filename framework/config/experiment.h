// The typed experiment: every key dlx reads, declared once with its default and a comment.
// Specs are plain data; the nn, data and train floors turn them into modules, tensors and loops.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "framework/config/image_specs.h"
#include "framework/config/reader.h"

namespace dlx::config {

// The named choices of the experiment's keys; their tables (names and help) are in
// experiment.cpp, and choices.h says how to add one. Datasets and losses have registries of
// their own in the floors that act on them (framework/data/registry.h, framework/train/loss.h):
// their names are strings here, checked there.
enum class CacheKind { kAuto, kMemory, kNone };
enum class OptimizerKind { kSgd, kAdam, kAdamW };
enum class SchedulerKind { kNone, kStep, kMultistep, kCosine };
enum class InitKind { kDefault, kXavierUniform, kXavierNormal, kKaimingUniform, kKaimingNormal };
enum class SelectKind { kAuto, kLast, kValAcc, kValLoss, kEma, kEmaValAcc, kEmaValLoss };
enum class PrecisionKind { kFp32, kBf16, kFp16 };

template <>
struct Choices<CacheKind> {
  static const std::vector<Choice<CacheKind>>& all();
};
template <>
struct Choices<OptimizerKind> {
  static const std::vector<Choice<OptimizerKind>>& all();
};
template <>
struct Choices<SchedulerKind> {
  static const std::vector<Choice<SchedulerKind>>& all();
};
template <>
struct Choices<InitKind> {
  static const std::vector<Choice<InitKind>>& all();
};
template <>
struct Choices<SelectKind> {
  static const std::vector<Choice<SelectKind>>& all();
};
template <>
struct Choices<PrecisionKind> {
  static const std::vector<Choice<PrecisionKind>>& all();
};

/// One entry of a model's `layers:` list, kept raw: the nn builder reads its arguments against
/// the layer registry, with the same strictness and locations.
struct LayerSpec {
  std::string type;  // "conv2d"
  YAML::Node args;   // the mapping after the type, possibly empty
  std::string path;  // "model.layers[3]"
  Location where;    // of the list item
  std::shared_ptr<const Origins> origins;
};

/// model.weights: the weights a run starts from (framework/train/weights.h reads them). In YAML a
/// path, or this mapping for the options.
struct WeightsSpec {
  std::string file;                 // a torch.save file, a dlx run folder or a checkpoint of one
  std::string key;                  // "" = the file's state_dict, model or model_ema, or its top
  std::string checkpoint = "kept";  // a run folder's: kept (best or last) or last
  std::string strip_prefix;         // "" = a `module.` every key has (DataParallel/DDP)
  std::string add_prefix;
  std::vector<std::string> fresh;  // `new:` names or globs left as initialised
  std::string hash;                // the file's content hash, written by dlx run

  template <class V>
  void visit(V& v) {
    v.required("file", file,
               "a PyTorch file (torch.save: a state_dict, or one under state_dict, model or "
               "model_ema), a dlx run folder or a checkpoint of one, or an experiment's folder "
               "of runs (its newest completed run)");
    v.field("key", key, "the entry of the file that holds the state_dict; empty: found");
    v.field("checkpoint", checkpoint, "of a run folder: kept (its selected epoch's) or last",
            one_of({"kept", "last"}));
    v.field("strip_prefix", strip_prefix,
            "removed from the file's names that start with it; empty: a `module.` that every "
            "name has");
    v.field("add_prefix", add_prefix, "put before every name of the file (after stripping)");
    v.field("new", fresh,
            "names or globs (`fc.*`) of the model's parameters left as initialised, not loaded");
    v.field("hash", hash,
            "the file's content hash (FNV-1a), written by dlx run: the run's identity");
  }
};

struct ModelSpec {
  std::string name;               // a label for reports
  std::vector<int64_t> input;     // [C, H, W] without the batch; empty = taken from the data
  YAML::Node blocks;              // name -> {args, layers}: read by the nn builder
  YAML::Node args;                // the model's own arguments (name -> value or `required`)
  std::vector<LayerSpec> layers;  // in order; input sizes are inferred
  std::shared_ptr<const Origins> origins;  // of the blocks, for messages
  std::string path;                        // "model" in an experiment, "" in a model file

  template <class V>
  void visit(V& v) {
    v.field("name", name, "a label for reports and tables");
    v.field("input", input,
            "[channels, height, width] of one example; an experiment's data sets it");
    read_args(v.raw("args",
                    "the model's arguments, as a builder's: name -> value or `required`, $name "
                    "in the model's layers; a file with `base:` gives values",
                    /*required=*/false),
              v);
    read_blocks(v.raw("blocks",
                      "named blocks used like layer types: name -> {args: {key: default or "
                      "required}, layers: [...]}, with $key in values",
                      /*required=*/false),
                v);
    read_layers(v.raw("layers", "the layers, in order: a list of {type: {key: value}}"), v);
    read_weights(v);
  }

  WeightsSpec weights;  // file "" = none: the layers' initialisation

 private:
  // A path, or a mapping with the options; written out as the mapping.
  template <class V>
  void read_weights(V& v) {
    const char* help =
        "the weights the run starts from: a path (a PyTorch file, a dlx run folder or "
        "checkpoint), or {file: PATH, key, checkpoint, strip_prefix, add_prefix, new}";
    if constexpr (std::is_same_v<V, Reader>) {
      YAML::Node node = v.raw("weights", help, /*required=*/false);
      if (!node || node.IsNull()) return;
      if (node.IsScalar() && !node.Scalar().empty()) {
        weights.file = node.Scalar();
      } else if (node.IsMap()) {
        Reader(node, child_path(v.path(), "weights"), v.origins()).read_spec(weights);
      } else {
        throw v.invalid("weights", "a path or a mapping with file:");
      }
    } else if constexpr (std::is_same_v<V, JsonWriter>) {
      if (!weights.file.empty()) v.section("weights", weights, help);
    } else {
      v.section("weights", weights, help);
    }
  }
  template <class V>
  void read_layers(const YAML::Node& node, V& v);
  template <class V>
  void read_args(const YAML::Node& node, V& v) {
    if constexpr (std::is_same_v<V, Reader>) {
      args = node;
    } else if constexpr (std::is_same_v<V, JsonWriter>) {
      if (args && args.IsMap() && args.size() > 0) v.out()["args"] = to_json(args);
    }
  }
  template <class V>
  void read_blocks(const YAML::Node& node, V& v) {
    if constexpr (std::is_same_v<V, Reader>) {
      blocks = node;
      origins = v.origins();
      path = v.path();
    } else if constexpr (std::is_same_v<V, JsonWriter>) {
      if (blocks && blocks.IsMap() && blocks.size() > 0) v.out()["blocks"] = to_json(blocks);
    }
  }
};

struct SyntheticSpec {
  int64_t train_size = 2048;  // examples in the training split
  int64_t test_size = 512;    // examples in the test split
  int64_t classes = 10;       // distinct labels
  int64_t channels = 1;       // image channels
  int64_t size = 28;          // height and width
  double noise = 0.5;         // std of the noise added to each class's template

  template <class V>
  void visit(V& v) {
    v.field("train_size", train_size, "examples in the training split", at_least(1));
    v.field("test_size", test_size, "examples in the test split", at_least(1));
    v.field("classes", classes, "number of labels", at_least(2));
    v.field("channels", channels, "image channels", at_least(1));
    v.field("size", size, "image height and width", at_least(1));
    v.field("noise", noise, "std of the noise around each class's template", non_negative());
  }
};

struct DataSpec {
  std::string dataset = "fashion-mnist";  // a name in data::builtin_datasets()
  std::string root;                       // the dataset's folder; "" = search (not for folder)
  Size2 resize;                           // size after bilinear resize; 0 = native size
  int64_t channels = 0;                   // folder: 1 or 3 (converted); 0 = the first image's
  CacheKind cache = CacheKind::kAuto;     // folder: decoded images kept in memory or not
  bool skip_bad = false;                  // folder: skip (and count) undecodable images
  std::vector<std::string> ignore;        // folder: file-name patterns that are not images
  int64_t batch_size = 256;               // examples per training step
  int64_t train_limit = 0;                // use only the first N training examples; 0 = all
  int64_t test_limit = 0;                 // use only the first N test examples; 0 = all
  bool prefetch = true;                   // prepare the next batch while this one trains
  double val_split = 0;                   // share of the training set held out; 0 = none
  NormalizeSpec normalize;                // per-channel (x - mean) / std after scaling to [0, 1]
  std::vector<AugmentSpec> augment;       // applied to training batches, in order
  int64_t val_resize = 0;                 // evaluation: shorter side resized to this; 0 = off
  Size2 val_crop;                         // evaluation: centre crop after val_resize; 0 = off
  SyntheticSpec synthetic;                // used when dataset is "synthetic"
  /// The file this spec was read from, to locate keys in messages of later checks (the data
  /// floor's); null for a spec made in code.
  std::shared_ptr<const Tree> source;

  /// Where `key` ("data.normalize") was written, or an empty Location.
  Location locate(const std::string& key) const {
    return source ? source->locate(key) : Location{};
  }

  template <class V>
  void visit(V& v) {
    v.field("dataset", dataset, "the dataset",
            Check<std::string>{[](const std::string& d) { return !d.empty(); }, "a dataset name"});
    v.field("root", root,
            "the dataset's folder; default $DLX_DATA/<dataset>, then "
            "/usr/share/datasets/<dataset> (a folder dataset must name it)");
    v.field("resize", resize,
            "resize images to this side or [height, width] (bilinear); 0 keeps them");
    v.field(
        "channels", channels,
        "folder: 1 (gray) or 3 (RGB), converting images that differ; 0 = the first image's",
        Check<int64_t>{[](const int64_t& c) { return c == 0 || c == 1 || c == 3; }, "0, 1 or 3"});
    v.field("cache", cache, "folder: where decoded images live between epochs");
    v.field("skip_bad", skip_bad,
            "folder: skip images that do not decode (counted in the report) instead of failing");
    v.field("ignore", ignore,
            "folder: file-name patterns (shell globs, e.g. '*.txt') that are not images; "
            "hidden files are always ignored");
    v.field("batch_size", batch_size, "examples per training step", at_least(1));
    v.field("train_limit", train_limit, "use only the first N training examples; 0 = all",
            at_least(0));
    v.field("test_limit", test_limit, "use only the first N test examples; 0 = all", at_least(0));
    v.field("prefetch", prefetch, "prepare the next batch on a second thread while one trains");
    v.field("val_split", val_split,
            "share of the training set held out for validation, stratified by class and seeded "
            "by train.seed; 0 = no validation (a folder dataset's val/ is used instead)",
            Check<double>{[](const double& x) { return x == 0 || (x > 0 && x < 1); },
                          "0 (none) or a number between 0 and 1"});
    v.field("normalize", normalize,
            "none, auto (per-channel mean and std of the training split, kept in the report) "
            "or {mean: [..], std: [..]} of pixels in [0, 1]");
    read_augment_list(v.raw("augment",
                            "augmentations of training batches, in order: random_crop, "
                            "horizontal_flip, vertical_flip, random_resized_crop, "
                            "random_rotation, color_jitter, trivial_augment, rand_augment, "
                            "auto_augment, random_erasing (after normalisation); drawn from "
                            "(seed, epoch, step); keys in docs/configuration.md",
                            /*required=*/false),
                      v);
    v.field("val_resize", val_resize,
            "evaluation batches: resize so the shorter side is this (bilinear, as torchvision's "
            "Resize(int)); 0 = off. With val_crop, replaces the augmentations' evaluation size",
            at_least(0));
    v.field("val_crop", val_crop,
            "evaluation batches: centre crop to this side or [h, w] after val_resize; 0 = off");
    v.section("synthetic", synthetic, "the generated dataset, for tests");
  }

 private:
  template <class V>
  void read_augment_list(const YAML::Node& node, V& v) {
    if constexpr (std::is_same_v<V, Reader>) {
      augment = read_augment(node, child_path(v.path(), "augment"), v.origins());
    } else if constexpr (std::is_same_v<V, JsonWriter>) {
      v.out()["augment"] = augment_json(augment);
    }
  }
};

struct OptimizerSpec {
  OptimizerKind type = OptimizerKind::kSgd;
  double lr = 0.1;                        // learning rate
  double momentum = 0.0;                  // SGD momentum
  double weight_decay = 0.0;              // L2 penalty (decoupled for adamw)
  bool nesterov = false;                  // SGD Nesterov momentum
  std::vector<double> betas{0.9, 0.999};  // Adam(W) moment decay rates
  double eps = 1e-8;                      // Adam(W) denominator term

  template <class V>
  void visit(V& v) {
    v.field("type", type, "the optimizer");
    v.field("lr", lr, "learning rate", positive());
    v.field("momentum", momentum, "SGD momentum", below(0, 1));
    v.field("weight_decay", weight_decay, "L2 penalty (decoupled for adamw)", non_negative());
    v.field("nesterov", nesterov, "SGD Nesterov momentum (needs momentum > 0)");
    v.field("betas", betas, "Adam(W) decay rates of the moment estimates, two numbers in [0, 1)");
    v.field("eps", eps, "Adam(W) term added to the denominator", positive());
  }
};

struct SchedulerSpec {
  SchedulerKind type = SchedulerKind::kNone;
  int64_t step_size = 10;           // step: epochs between decays
  std::vector<int64_t> milestones;  // multistep: epochs (1-based) at which lr decays
  double gamma = 0.1;               // step, multistep: decay factor
  double min_lr = 0.0;              // cosine: the final learning rate
  int64_t warmup_epochs = 0;        // linear warm-up from lr/warmup_epochs over this many epochs
  int64_t warmup_steps = 0;         // per_step: a warm-up counted in optimizer updates instead
  double warmup_start_factor = 0;   // > 0: torchvision's LinearLR start factor (0: lr/warmup)
  bool per_step = false;            // the lr changes every update (timm's --sched-on-updates)

  template <class V>
  void visit(V& v) {
    v.field("type", type, "the schedule");
    v.field("step_size", step_size, "step: epochs between decays", at_least(1));
    v.field("milestones", milestones, "multistep: epochs after which the lr decays");
    v.field("gamma", gamma, "step, multistep: decay factor", positive());
    v.field("min_lr", min_lr, "cosine: the final learning rate", non_negative());
    v.field("warmup_epochs", warmup_epochs, "linear warm-up epochs before the schedule",
            at_least(0));
    v.field("warmup_steps", warmup_steps,
            "a linear warm-up of this many optimizer updates instead (needs per_step)",
            at_least(0));
    v.field("warmup_start_factor", warmup_start_factor,
            "the warm-up's first lr as a share of lr, rising linearly to lr (torchvision's "
            "--lr-warmup-decay); 0: per epoch lr/warmup_epochs rising by as much each epoch "
            "(d2l's), per step from 0",
            in_range(0, 1));
    v.field("per_step", per_step,
            "set the lr before every optimizer update from the fractional epoch (timm's "
            "--sched-on-updates), not once per epoch");
  }
};

struct LossSpec {
  std::string type = "cross_entropy";  // a name in metrics::builtin_losses()
  double label_smoothing = 0;          // torch.nn.CrossEntropyLoss's; timm's for BCE targets
  std::string reduction = "mean";      // mean or sum over the batch's examples

  template <class V>
  void visit(V& v) {
    v.field("type", type, "the loss",
            Check<std::string>{[](const std::string& t) { return !t.empty(); }, "a loss name"});
    v.field("label_smoothing", label_smoothing,
            "the share of each target spread evenly over all classes (torch.nn.CrossEntropyLoss's "
            "label_smoothing; timm's 0.1)",
            below(0, 1));
    v.field("reduction", reduction,
            "how a batch's gradient combines its examples': mean (PyTorch's default) or sum "
            "(d2l's fine-tuning); the reported loss is the mean either way",
            one_of({"mean", "sum"}));
  }
};

/// Mixup and cutmix of whole training batches, as torchvision's reference (RandomMixup,
/// RandomCutmix) and timm's Mixup: a batch is blended with itself rolled by one example.
struct MixSpec {
  double mixup_alpha = 0;    // Beta(alpha, alpha) draws the first image's share; 0 = off
  double cutmix_alpha = 0;   // Beta(alpha, alpha) draws the share outside the pasted box; 0 = off
  double prob = 1;           // the chance that a batch is mixed
  double switch_prob = 0.5;  // with both on: the chance of cutmix rather than mixup

  bool on() const { return mixup_alpha > 0 || cutmix_alpha > 0; }

  template <class V>
  void visit(V& v) {
    v.field("mixup_alpha", mixup_alpha,
            "mixup: each image blended with the next, its share drawn from Beta(alpha, alpha) per "
            "batch (torchvision's --mixup-alpha, timm's --mixup); 0 = off",
            non_negative());
    v.field("cutmix_alpha", cutmix_alpha,
            "cutmix: a box of the next image pasted in, its area from Beta(alpha, alpha) "
            "(--cutmix-alpha, timm's --cutmix); 0 = off",
            non_negative());
    v.field("prob", prob, "the chance that a batch is mixed (timm's --mixup-prob)", in_range(0, 1));
    v.field("switch_prob", switch_prob,
            "with both alphas on: the chance of cutmix rather than mixup (timm's "
            "--mixup-switch-prob)",
            in_range(0, 1));
  }
};

/// An exponential moving average of the weights (torchvision's ExponentialMovingAverage).
struct EmaSpec {
  double decay = 0;    // the average's share kept at each update; 0 = no EMA
  int64_t steps = 32;  // optimizer updates between the average's updates
  bool adjust = true;  // torchvision's: 1 - decay times world * batch * steps / epochs

  bool on() const { return decay > 0; }

  template <class V>
  void visit(V& v) {
    v.field("decay", decay,
            "the average's weight at each update, in (0, 1) (torchvision's --model-ema-decay "
            "0.99998); 0 = no EMA",
            Check<double>{[](const double& d) { return d == 0 || (d > 0 && d < 1); },
                          "a number in (0, 1), or 0 for none"});
    v.field("steps", steps, "optimizer updates between updates of the average (--model-ema-steps)",
            at_least(1));
    v.field("adjust", adjust,
            "torchvision's adjustment: 1 - decay scaled by batch size x ranks x steps / epochs "
            "(at most 1)");
  }
};

struct EarlyStoppingSpec {
  std::string metric = "val_acc";  // a criterion of metrics::criterion_names()
  int64_t patience = 0;  // epochs without improvement before stopping; 0 = never stop early
  double min_delta = 0;  // the least change that counts as an improvement

  template <class V>
  void visit(V& v) {
    v.field("metric", metric, "what must improve");
    v.field("patience", patience,
            "epochs without improvement after which the run stops (completed); 0 = never",
            at_least(0));
    v.field("min_delta", min_delta, "the least change that counts as an improvement",
            non_negative());
  }
};

/// One optimizer parameter group of train.groups: the parameters whose checkpoint names match
/// `params` (names or globs; the first group that matches takes a parameter).
struct ParamGroupSpec {
  std::vector<std::string> params;
  double lr_mult = 1;        // times the scheduled learning rate
  double weight_decay = -1;  // -1: the optimizer's
};

template <>
struct Codec<std::vector<ParamGroupSpec>> {
  static constexpr const char* name =
      "a list of {params: [names or globs], lr_mult: a number >= 0, weight_decay: a number >= 0}";
  static bool decode(const YAML::Node& n, std::vector<ParamGroupSpec>& v);
  static Json encode(const std::vector<ParamGroupSpec>& v);
};

struct TrainSpec {
  int64_t epochs = 10;  // passes over the training set
  LossSpec loss;
  OptimizerSpec optimizer;
  SchedulerSpec scheduler;
  InitKind init = InitKind::kDefault;
  int64_t seed = 0;             // makes a CPU run repeat exactly
  std::string device = "auto";  // auto, cpu, cuda or cuda:N
  int64_t threads = 0;          // intra-op CPU threads; 0 = one per core
  bool channels_last = false;   // NHWC images and conv weights (oneDNN's native layout)
  PrecisionKind precision = PrecisionKind::kFp32;  // of the forward pass's matrix products
  bool cudnn_benchmark = false;  // cuDNN times its algorithms per shape and keeps the fastest
  SelectKind select = SelectKind::kAuto;  // the epoch whose weights go to checkpoint_best.pt
  EarlyStoppingSpec early_stopping;
  std::vector<std::string> freeze;     // parameter names or globs kept fixed
  int64_t thaw_epoch = 0;              // the epoch from which they train; 0 = never
  std::vector<ParamGroupSpec> groups;  // optimizer parameter groups by name
  double norm_weight_decay = -1;       // -1: the optimizer's (torchvision's --norm-weight-decay)
  double bias_weight_decay = -1;       // -1: the optimizer's (--bias-weight-decay)
  std::vector<std::string> metrics;    // figures recorded besides loss and acc: top5_acc, ...
  MixSpec mix;
  int64_t accumulate = 1;      // batches whose gradients make one optimizer update
  double clip_grad_norm = 0;   // the gradients' largest total 2-norm; 0 = no clipping
  double clip_grad_value = 0;  // each gradient's largest absolute value; 0 = no clipping
  EmaSpec ema;

  template <class V>
  void visit(V& v) {
    v.field("epochs", epochs,
            "passes over the training set; 0 evaluates the starting weights (model.weights) "
            "only",
            at_least(0));
    v.section("loss", loss, "what a training step minimises");
    v.section("optimizer", optimizer, "the optimizer");
    v.section("scheduler", scheduler, "the learning-rate schedule (per epoch)");
    v.field("init", init, "weight init of conv and dense layers");
    v.field("seed", seed, "seeds weights, dropout and data order; a CPU run repeats exactly",
            at_least(0));
    v.field("device", device, "auto (cuda if present, else cpu), cpu, cuda or cuda:N");
    v.field("threads", threads, "intra-op CPU threads; 0 = one per core", at_least(0));
    v.field("channels_last", channels_last,
            "NHWC images and conv weights, oneDNN's own layout (saves reorders on large images)");
    v.field("precision", precision,
            "the forward pass's convolutions and matrix products; weights, gradients, batch norm "
            "and the loss stay float32");
    v.field("cudnn_benchmark", cudnn_benchmark,
            "on a GPU, time cuDNN's algorithms for each shape and keep the fastest; may change "
            "the last bits of results from run to run");
    v.field("select", select, "the epoch kept in checkpoint_best.pt and reported as selected");
    v.field("freeze", freeze,
            "parameter names or globs (`layer1.*`) kept fixed; batch norm inside stays in "
            "evaluation mode");
    v.field("thaw_epoch", thaw_epoch, "the epoch from which the frozen parameters train; 0 = never",
            at_least(0));
    v.field("groups", groups,
            "optimizer parameter groups: [{params: [names or globs], lr_mult, weight_decay}], the "
            "first match takes a parameter; schedules scale every group");
    v.field(
        "norm_weight_decay", norm_weight_decay,
        "weight decay of normalisation layers' parameters; -1: the optimizer's",
        Check<double>{[](const double& d) { return d >= 0 || d == -1; }, "a number >= 0, or -1"});
    v.field(
        "bias_weight_decay", bias_weight_decay,
        "weight decay of biases (before norm_weight_decay); -1: the optimizer's",
        Check<double>{[](const double& d) { return d >= 0 || d == -1; }, "a number >= 0, or -1"});
    v.section("early_stopping", early_stopping,
              "stop a run whose metric no longer improves (patience 0: never)");
    v.field("metrics", metrics,
            "figures recorded for every split besides loss and acc: topK_acc (top5_acc, any K up "
            "to the classes), macro_f1");
    v.section("mix", mix, "mixup and cutmix of training batches");
    v.field("accumulate", accumulate,
            "batches whose gradients are averaged into one optimizer update (a batch this many "
            "times larger)",
            at_least(1));
    v.field("clip_grad_norm", clip_grad_norm,
            "scale the gradients down to this total 2-norm when above it "
            "(torch.nn.utils.clip_grad_norm_, torchvision's --clip-grad-norm); 0 = off",
            non_negative());
    v.field("clip_grad_value", clip_grad_value,
            "clamp each gradient to [-v, v] (torch.nn.utils.clip_grad_value_); 0 = off",
            non_negative());
    v.section("ema", ema,
              "an exponential moving average of the weights, evaluated beside them every epoch");
  }
};

struct ExperimentSpec {
  int64_t version = 1;  // the schema version of this file
  std::string name;     // defaults to the file's stem
  std::string description;
  ModelSpec model;
  DataSpec data;
  TrainSpec train;
  YAML::Node sweep;  // read by `dlx sweep` (framework/sweep); not part of a run's config

  /// Where `key` was written in the file this spec was read from (see DataSpec::source).
  Location locate(const std::string& key) const { return data.locate(key); }

  template <class V>
  void visit(V& v) {
    v.field("version", version, "schema version of this file (1)",
            Check<int64_t>{[](const int64_t& x) { return x == 1; }, "1"});
    v.field("name", name, "the experiment's name: runs go to runs/<name>/");
    v.field("description", description, "free text, kept in the report");
    v.section("model", model,
              "the network: a path to a model file (relative to this file) or a mapping");
    v.section("data", data, "the dataset and batching");
    v.section("train", train, "the training loop");
    YAML::Node node = v.raw(
        "sweep", "dotted key -> list of values; every combination is one run (docs/sweeps.md)",
        /*required=*/false);
    if constexpr (std::is_same_v<V, Reader>) sweep = node;
  }
};

/// Loads, merges, overrides and checks an experiment file: every check the config alone can make.
/// What needs the dataset's facts (its name, the examples' shape, a validation split) is checked
/// by experiment::load (framework/experiment), and the model's shapes by the nn builder.
ExperimentSpec load_experiment(const std::filesystem::path& path,
                               const std::vector<Override>& overrides = {});

/// Loads a model file on its own.
ModelSpec load_model(const std::filesystem::path& path,
                     const std::vector<Override>& overrides = {});

/// The resolved config as JSON (declaration order): every key, defaults included.
Json resolved_json(ExperimentSpec& spec);

/// Every key at its default: what a resolved config is compared against.
const Json& default_json();

/// A config with the keys it lacks (written by an older dlx) filled in with their defaults.
Json with_defaults(const Json& config);

/// A resolved config's values that differ from the defaults (nested as in the config). This is a
/// run's identity: a key that a newer dlx adds, with a default that keeps the old behaviour, is
/// absent from it, so runs written before the key existed keep their identity.
Json non_default_json(const Json& resolved);

/// The hash of a resolved config's identity (its non-default values, keys sorted): what
/// report.json's config_hash holds and what a sweep recognises its points by.
std::string config_identity(const Json& resolved);

/// The dotted keys whose values differ between two configs; lists are named whole, and mappings
/// inside them compare by key, not by key order.
std::vector<std::string> differing_keys(const Json& a, const Json& b);

/// differing_keys() of the two configs' identities: a key at its default and a key absent (as
/// in a config written before it existed) are the same.
std::vector<std::string> identity_differences(const Json& a, const Json& b);

/// The resolved config as YAML text: what config.yaml in a run folder holds.
std::string to_yaml(const Json& resolved);

// ---- implementation ----

LayerSpec read_layer(const YAML::Node& item, const std::string& path,
                     const std::shared_ptr<const Origins>& origins);

template <class V>
void ModelSpec::read_layers(const YAML::Node& node, V& v) {
  if constexpr (std::is_same_v<V, Reader>) {
    std::string path = child_path(v.path(), "layers");
    if (!node) throw v.missing("layers", "a list of layers");
    if (!node.IsSequence() || node.size() == 0) {
      throw ConfigError(v.locate("layers"), path, "a non-empty list of layers", describe(node));
    }
    layers.clear();
    for (size_t i = 0; i < node.size(); ++i) {
      layers.push_back(read_layer(node[i], item_path(path, i), v.origins()));
    }
  } else if constexpr (std::is_same_v<V, JsonWriter>) {
    Json list = Json::array();
    for (const auto& layer : layers) list.push_back(Json{{layer.type, to_json(layer.args)}});
    v.out()["layers"] = list;
  }
}

}  // namespace dlx::config
