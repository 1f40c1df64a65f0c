package io.github.tfl1l2.savedmodel;

import io.github.tfl1l2.L1L2;
import java.util.List;
import java.util.Objects;

/**
 * The L1L2 penalty of a SavedModel's variables as computed by its own graph: the totals of the
 * {@link RegularizationSignature} outputs and one row per regularized variable. Values are the
 * float32 results of the graph, widened to {@code double}.
 *
 * @param config the regularizer that was applied
 * @param penalty the configured penalty, {@code weight · (l1 · l1Sum + l2 · l2Sum)}
 * @param l1Sum Σ|w| over all rows
 * @param l2Sum Σw² over all rows
 * @param variables one row per regularized variable, in the model's variable order
 */
public record PenaltyReport(
    L1L2 config, double penalty, double l1Sum, double l2Sum, List<VariablePenalty> variables) {

  /**
   * Validates the components and freezes {@code variables}.
   *
   * @param config the regularizer that was applied
   * @param penalty the configured penalty, {@code weight · (l1 · l1Sum + l2 · l2Sum)}
   * @param l1Sum Σ|w| over all rows
   * @param l2Sum Σw² over all rows
   * @param variables one row per regularized variable, in the model's variable order; copied
   * @throws NullPointerException if {@code config} or {@code variables} (or a row) is null
   */
  public PenaltyReport {
    Objects.requireNonNull(config, "config must not be null");
    variables = List.copyOf(Objects.requireNonNull(variables, "variables must not be null"));
  }

  /**
   * One variable's share of a {@link PenaltyReport}.
   *
   * @param variable the variable
   * @param l1Sum Σ|w| over its elements
   * @param l2Sum Σw² over its elements
   * @param penalty its penalty, {@code weight · (l1 · l1Sum + l2 · l2Sum)}
   */
  public record VariablePenalty(
      ModelVariable variable, double l1Sum, double l2Sum, double penalty) {
    /**
     * Validates that {@code variable} is present.
     *
     * @param variable the variable
     * @param l1Sum Σ|w| over its elements
     * @param l2Sum Σw² over its elements
     * @param penalty its penalty, {@code weight · (l1 · l1Sum + l2 · l2Sum)}
     * @throws NullPointerException if {@code variable} is null
     */
    public VariablePenalty {
      Objects.requireNonNull(variable, "variable must not be null");
    }
  }
}
