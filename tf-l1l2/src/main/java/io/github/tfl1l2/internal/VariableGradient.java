package io.github.tfl1l2.internal;

import java.util.Objects;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Scope;
import org.tensorflow.op.core.Constant;
import org.tensorflow.op.math.UnsortedSegmentSum;
import org.tensorflow.types.family.TNumber;
import org.tensorflow.types.family.TType;

/**
 * The data gradient of one variable, as {@link DataGradients} takes it: either dense, a tensor of
 * the variable's shape and dtype, or row-sparse, when every read of the variable that the loss
 * reaches is a row read ({@code ResourceGather}, or {@code GatherV2} on axis 0 of a {@code
 * ReadVariableOp}): {@code values} of shape {@code [n, row…]} (the variable's shape without its
 * first dimension, in its dtype) and {@code indices} of shape {@code [n]} ({@code int32} or {@code
 * int64}), meaning the gradient whose row {@code r} is the sum of the values whose index is {@code
 * r}, zero elsewhere. An index may repeat: its values add up.
 *
 * <p>Immutable; the outputs are in the variable's graph.
 */
public final class VariableGradient {
  private final Output<?> variable;
  private final Output<?> dense;
  private final Output<?> values;
  private final Output<?> indices;

  private VariableGradient(
      Output<?> variable, Output<?> dense, Output<?> values, Output<?> indices) {
    this.variable = variable;
    this.dense = dense;
    this.values = values;
    this.indices = indices;
  }

  /**
   * A dense gradient.
   *
   * @param variable the variable ({@link DataGradients#isVariable}) the gradient is of
   * @param gradient the gradient, of the variable's shape and (base) dtype
   * @return the dense gradient
   * @throws NullPointerException if an argument is null
   */
  public static VariableGradient dense(Output<?> variable, Output<?> gradient) {
    return new VariableGradient(
        Checks.notNull("variable", variable), Checks.notNull("gradient", gradient), null, null);
  }

  /**
   * A row-sparse gradient.
   *
   * @param variable the variable ({@link DataGradients#isVariable}) the gradient is of
   * @param values the rows' gradients, of shape {@code [n, row…]} in the variable's dtype
   * @param indices the rows they belong to, of shape {@code [n]}, {@code int32} or {@code int64}
   * @return the row-sparse gradient
   * @throws NullPointerException if an argument is null
   */
  public static VariableGradient rowSparse(
      Output<?> variable, Output<?> values, Output<?> indices) {
    return new VariableGradient(
        Checks.notNull("variable", variable),
        null,
        Checks.notNull("values", values),
        Checks.notNull("indices", indices));
  }

  /**
   * The variable this gradient is of.
   *
   * @return output 0 of its {@code VariableV2} or {@code VarHandleOp}
   */
  public Output<?> variable() {
    return variable;
  }

  /**
   * Whether this gradient is row-sparse ({@link #values}, {@link #indices}) rather than dense.
   *
   * @return true for a row-sparse gradient
   */
  public boolean isRowSparse() {
    return dense == null;
  }

  /**
   * The rows' gradients of a row-sparse gradient.
   *
   * @return {@code [n, row…]} values in the variable's dtype
   * @throws IllegalStateException if this gradient is dense
   */
  public Output<?> values() {
    requireRowSparse();
    return values;
  }

  /**
   * The row indices of a row-sparse gradient, one for each row of {@link #values}.
   *
   * @return {@code [n]} indices, {@code int32} or {@code int64}
   * @throws IllegalStateException if this gradient is dense
   */
  public Output<?> indices() {
    requireRowSparse();
    return indices;
  }

  /**
   * This gradient as a dense tensor of the variable's shape and dtype: the dense gradient itself,
   * or for a row-sparse one {@code UnsortedSegmentSum(values, indices, rows)}, built in {@code
   * scope} on the variable's device (each call builds a new one).
   *
   * @param scope where the sum is built, if one is
   * @return the dense gradient
   * @throws NullPointerException if {@code scope} is null
   */
  public Output<?> dense(Scope scope) {
    Checks.notNull("scope", scope);
    if (dense != null) {
      return dense;
    }
    return scatterRows(DataGradients.besideVariable(scope, variable), variable, values, indices);
  }

  /**
   * {@code UnsortedSegmentSum(values, indices, rows)}, where {@code rows} is the first dimension of
   * {@code variable}'s (fully known) shape: the dense tensor that row-sparse {@code values} at
   * {@code indices} stand for, duplicates summed.
   */
  @SuppressWarnings("unchecked")
  static Output<?> scatterRows(
      Scope scope, Output<?> variable, Output<?> values, Output<?> indices) {
    Shape shape = DataGradients.fullyKnownShapeOf(variable, "a dense gradient of row reads");
    return UnsortedSegmentSum.create(
            scope,
            (Operand<TType>) values,
            (Operand<? extends TNumber>) indices,
            Constant.scalarOf(scope, shape.get(0)))
        .asOutput();
  }

  private void requireRowSparse() {
    if (dense != null) {
      throw new IllegalStateException(
          "the gradient of variable \"" + variable.op().name() + "\" is dense, not row-sparse");
    }
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof VariableGradient g
        && variable.equals(g.variable)
        && Objects.equals(dense, g.dense)
        && Objects.equals(values, g.values)
        && Objects.equals(indices, g.indices);
  }

  @Override
  public int hashCode() {
    return Objects.hash(variable, dense, values, indices);
  }

  @Override
  public String toString() {
    return (isRowSparse() ? "row-sparse" : "dense")
        + " gradient of \""
        + variable.op().name()
        + "\"";
  }
}
