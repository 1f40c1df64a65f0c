package io.github.tfl1l2;

import java.util.Map;
import org.tensorflow.proto.DataType;
import org.tensorflow.types.TBfloat16;
import org.tensorflow.types.TFloat16;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TFloat64;
import org.tensorflow.types.family.TFloating;

/**
 * The four floating dtypes the penalty accepts ({@code DT_HALF}, {@code DT_BFLOAT16}, {@code
 * DT_FLOAT}, {@code DT_DOUBLE}), and the precision each one is summed in. {@link
 * #isFloating(DataType)} is the one dtype rule of the library, its SavedModel support and its
 * command line.
 */
public final class FloatingTypes {
  private FloatingTypes() {}

  private static final Map<Class<? extends TFloating>, DataType> BY_CLASS =
      Map.of(
          TFloat16.class, DataType.DT_HALF,
          TBfloat16.class, DataType.DT_BFLOAT16,
          TFloat32.class, DataType.DT_FLOAT,
          TFloat64.class, DataType.DT_DOUBLE);

  /**
   * Whether {@link L1L2} can regularize a parameter of element type {@code type}: {@code DT_HALF},
   * {@code DT_BFLOAT16}, {@code DT_FLOAT} or {@code DT_DOUBLE} (reference types such as {@code
   * DT_FLOAT_REF} are not base types: strip them first).
   *
   * @param type a dtype; null gives false
   */
  public static boolean isFloating(DataType type) {
    return BY_CLASS.containsValue(type);
  }

  /** Returns the dtype of {@code type}, rejecting classes outside the four floating types. */
  static DataType dataTypeOf(Class<? extends TFloating> type) {
    Checks.notNull("type", type);
    DataType dtype = BY_CLASS.get(type);
    if (dtype == null) {
      throw new IllegalArgumentException(
          "type must be one of TFloat16, TBfloat16, TFloat32 or TFloat64, but was "
              + type.getName());
    }
    return dtype;
  }

  /**
   * Sums accumulate in at least single precision: half and bfloat16 inputs are widened to float32
   * (a float16 square overflows past 256 and loses all digits past 11 bits), float64 stays
   * float64.
   */
  static Class<? extends TFloating> accumulatorOf(DataType type) {
    return type == DataType.DT_DOUBLE ? TFloat64.class : TFloat32.class;
  }
}
