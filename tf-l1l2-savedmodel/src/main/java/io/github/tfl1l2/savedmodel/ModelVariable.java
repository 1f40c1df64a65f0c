package io.github.tfl1l2.savedmodel;

import io.github.tfl1l2.internal.FloatingTypes;
import java.util.List;
import java.util.Objects;
import org.tensorflow.proto.DataType;

/**
 * One variable of a SavedModel's graph, as {@link LoadedSavedModel#variables()} lists it.
 *
 * @param name the graph op name of the variable, e.g. {@code dense/kernel}
 * @param opType {@code VarHandleOp} (resource variable, TF2 and Keras models) or {@code
 *     VariableV2}/{@code Variable} (reference variable, TF1-style graphs and TF-Java exports)
 * @param dtype the element type of the variable's value
 * @param shape the declared shape; {@code -1} marks an unknown dimension, an empty list a scalar
 * @param trainable whether the model marks the variable trainable (see {@link TrainableSource})
 */
public record ModelVariable(
    String name, String opType, DataType dtype, List<Long> shape, boolean trainable) {

  /**
   * Validates the components and freezes {@code shape}.
   *
   * @param name the graph op name of the variable, e.g. {@code dense/kernel}
   * @param opType the variable's op type: {@code VarHandleOp}, {@code VariableV2} or {@code
   *     Variable}
   * @param dtype the element type of the variable's value
   * @param shape the declared shape; {@code -1} marks an unknown dimension, an empty list a scalar;
   *     copied
   * @param trainable whether the model marks the variable trainable
   * @throws NullPointerException if {@code name}, {@code opType}, {@code dtype} or {@code shape}
   *     (or an element of it) is null
   */
  public ModelVariable {
    Objects.requireNonNull(name, "name must not be null");
    Objects.requireNonNull(opType, "opType must not be null");
    Objects.requireNonNull(dtype, "dtype must not be null");
    shape = List.copyOf(Objects.requireNonNull(shape, "shape must not be null"));
  }

  /**
   * Whether the value is floating point (half, bfloat16, float or double): only those regularize
   * ({@link FloatingTypes#isFloating(DataType)}).
   *
   * @return true for {@code DT_HALF}, {@code DT_BFLOAT16}, {@code DT_FLOAT} and {@code DT_DOUBLE}
   */
  public boolean isFloating() {
    return FloatingTypes.isFloating(dtype);
  }

  /**
   * The Python-style name of {@link #dtype()}: {@code float32}, {@code int64}, …
   *
   * @return {@code float16}, {@code float32} or {@code float64} for {@code DT_HALF}, {@code
   *     DT_FLOAT} and {@code DT_DOUBLE}; otherwise the proto name lower-cased without its {@code
   *     DT_} prefix, e.g. {@code bfloat16}, {@code int64}
   */
  public String dtypeName() {
    String proto = dtype.name();
    return switch (dtype) {
      case DT_HALF -> "float16";
      case DT_FLOAT -> "float32";
      case DT_DOUBLE -> "float64";
      default -> proto.startsWith("DT_") ? proto.substring(3).toLowerCase() : proto;
    };
  }
}
