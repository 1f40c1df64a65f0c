package io.github.tfl1l2.internal;

import java.util.Map;
import org.tensorflow.internal.types.registry.TensorTypeRegistry;
import org.tensorflow.proto.DataType;
import org.tensorflow.types.TBfloat16;
import org.tensorflow.types.TFloat16;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TFloat64;
import org.tensorflow.types.family.TFloating;
import org.tensorflow.types.family.TType;

/**
 * The four floating dtypes the penalty accepts ({@code DT_HALF}, {@code DT_BFLOAT16}, {@code
 * DT_FLOAT}, {@code DT_DOUBLE}), and the precision each one is summed in. {@link
 * #isFloating(DataType)} is the one dtype rule of the library, its SavedModel support and its
 * command line, and {@link #requireFloating} its one error message.
 *
 * <p>Not API: public only because the optimizers and the SavedModel module apply the same rule.
 */
public final class FloatingTypes {
  private FloatingTypes() {}

  private static final Map<Class<? extends TFloating>, DataType> BY_CLASS =
      Map.of(
          TFloat16.class, DataType.DT_HALF,
          TBfloat16.class, DataType.DT_BFLOAT16,
          TFloat32.class, DataType.DT_FLOAT,
          TFloat64.class, DataType.DT_DOUBLE);

  /** What every dtype error names as allowed. */
  private static final String ALLOWED = "allowed are DT_HALF, DT_BFLOAT16, DT_FLOAT and DT_DOUBLE";

  /** Reference dtypes ({@code DT_FLOAT_REF} for a {@code VariableV2} output) are base + 100. */
  private static final int REF_OFFSET = 100;

  /**
   * Whether the L1L2 penalty can regularize a parameter of element type {@code type}: {@code
   * DT_HALF}, {@code DT_BFLOAT16}, {@code DT_FLOAT} or {@code DT_DOUBLE} (reference types such as
   * {@code DT_FLOAT_REF} are not base types: strip them first).
   *
   * @param type a dtype; null gives false
   * @return true for those four base dtypes, false for every other dtype
   */
  public static boolean isFloating(DataType type) {
    return BY_CLASS.containsValue(type);
  }

  /**
   * Returns {@code dtype} if it is one of the four floating dtypes.
   *
   * @param subject how the message names what has the dtype, e.g. {@code parameters[1] (op
   *     "counts")}
   * @param dtype the dtype to check, base (not reference) dtype expected
   * @return {@code dtype}, unchanged
   * @throws IllegalArgumentException "{@code <subject> has dtype <dtype>; allowed are DT_HALF,
   *     DT_BFLOAT16, DT_FLOAT and DT_DOUBLE}" otherwise
   */
  public static DataType requireFloating(String subject, DataType dtype) {
    if (!isFloating(dtype)) {
      throw new IllegalArgumentException(subject + " has dtype " + dtype + "; " + ALLOWED);
    }
    return dtype;
  }

  /**
   * Returns the dtype of {@code type}, rejecting classes outside the four floating types (with the
   * message of {@link #requireFloating}, the argument named {@code type}).
   *
   * @param type {@code TFloat16.class}, {@code TBfloat16.class}, {@code TFloat32.class} or {@code
   *     TFloat64.class}
   * @return {@code DT_HALF}, {@code DT_BFLOAT16}, {@code DT_FLOAT} or {@code DT_DOUBLE}
   *     respectively
   * @throws NullPointerException if {@code type} is null
   * @throws IllegalArgumentException if {@code type} is another class
   */
  public static DataType dataTypeOf(Class<? extends TFloating> type) {
    Checks.notNull("type", type);
    DataType dtype = BY_CLASS.get(type);
    if (dtype == null) {
      requireFloating("type (" + type.getSimpleName() + ")", registeredDataType(type));
    }
    return dtype;
  }

  /** The dtype TF-Java registers for {@code type}, or null for a class it does not know. */
  private static DataType registeredDataType(Class<?> type) {
    try {
      @SuppressWarnings("unchecked")
      Class<TType> tensorType = (Class<TType>) type;
      return TensorTypeRegistry.find(tensorType).dataType();
    } catch (RuntimeException unknown) {
      return null;
    }
  }

  /**
   * Returns the class of a floating {@code dtype} (reference flag stripped), or null.
   *
   * @param dtype any dtype, base or reference ({@code DT_FLOAT_REF} counts as {@code DT_FLOAT});
   *     not null
   * @return {@code TFloat16.class}, {@code TBfloat16.class}, {@code TFloat32.class} or {@code
   *     TFloat64.class}; null for a dtype that is not one of the four floating types
   */
  public static Class<? extends TFloating> classOf(DataType dtype) {
    DataType base = baseOf(dtype);
    for (Map.Entry<Class<? extends TFloating>, DataType> entry : BY_CLASS.entrySet()) {
      if (entry.getValue() == base) {
        return entry.getKey();
      }
    }
    return null;
  }

  /**
   * {@code dtype} without its reference flag: {@code DT_FLOAT} for {@code DT_FLOAT_REF}.
   *
   * @param dtype any dtype, base or reference; not null
   * @return the base dtype of a reference dtype, or {@code dtype} itself when it is a base dtype
   */
  public static DataType baseOf(DataType dtype) {
    int number = dtype.getNumber();
    if (number > REF_OFFSET) {
      DataType base = DataType.forNumber(number - REF_OFFSET);
      if (base != null) {
        return base;
      }
    }
    return dtype;
  }

  /**
   * Sums accumulate in at least single precision: half and bfloat16 inputs are widened to float32
   * (a float16 square overflows past 256 and loses all digits past 11 bits), float64 stays float64.
   *
   * @param type a parameter's base dtype, one of the four floating dtypes
   * @return {@code TFloat64.class} for {@code DT_DOUBLE}, {@code TFloat32.class} for any other
   */
  public static Class<? extends TFloating> accumulatorOf(DataType type) {
    return type == DataType.DT_DOUBLE ? TFloat64.class : TFloat32.class;
  }
}
