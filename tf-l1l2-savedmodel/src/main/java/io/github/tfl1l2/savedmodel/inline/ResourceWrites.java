package io.github.tfl1l2.savedmodel.inline;

import java.util.List;

/**
 * The one rule for which ops write state: the inliner refuses them in a body (their order to the
 * reads would be lost with the control inputs), and a training-mode call builds only the writes it
 * allows ({@link TrainingStateWrites}).
 */
final class ResourceWrites {
  /**
   * Prefixes of the op types that write the resource they take as their first input: variable
   * assignments and optimizer kernels, and the stateful random ops that advance a generator's
   * state.
   */
  private static final List<String> PREFIXES =
      List.of(
          "Assign",
          "ResourceApply",
          "ResourceSparseApply",
          "ResourceScatter",
          "ResourceStridedSliceAssign",
          "DestroyResourceOp",
          "RngReadAndSkip",
          "RngSkip",
          "StatefulUniform",
          "StatefulStandardNormal",
          "StatefulTruncatedNormal",
          "StatefulRandomBinomial");

  private ResourceWrites() {}

  /** Whether an op of type {@code opType} writes a resource. */
  static boolean writes(String opType) {
    return PREFIXES.stream().anyMatch(opType::startsWith);
  }
}
