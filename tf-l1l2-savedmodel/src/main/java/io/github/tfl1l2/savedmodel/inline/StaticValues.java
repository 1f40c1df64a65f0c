package io.github.tfl1l2.savedmodel.inline;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.Output;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.TensorProto;

/**
 * The values of small integer and boolean tensors that are known when the graph is built: constants
 * and what is computed from them and from static shapes (a loop's counter, its time bound {@code
 * Shape(x)[0]}, the index of a list element).
 *
 * <p>Why an evaluator of its own rather than a session: a loop's counter after step {@code k} is a
 * chain of {@code k} additions; evaluating each step's value from the previous one is linear in the
 * trip count, where asking TensorFlow to fold each chain again would be quadratic.
 *
 * <p>Only int32, int64 and bool tensors of at most {@link #MAX_ELEMENTS} elements are tracked. A
 * {@code Shape} of a partly known shape is tracked with its unknown dimensions marked, so that
 * {@code StridedSlice} can still pick a known one.
 *
 * <p>Not thread-safe.
 */
final class StaticValues {
  /** Tensors larger than this are never tracked: loop bounds and indices are scalars. */
  static final int MAX_ELEMENTS = 64;

  /** An element of a partly known {@code Shape} whose dimension is unknown. */
  private static final long UNKNOWN = Long.MIN_VALUE;

  /**
   * A tensor's value: its dtype, shape and elements (bools as 0 and 1), row-major.
   *
   * @param partial whether some elements are {@code UNKNOWN} (only a {@code Shape}'s)
   */
  record Value(DataType type, long[] shape, long[] elements, boolean partial) {
    static Value scalar(DataType type, long element) {
      return new Value(type, new long[0], new long[] {element}, false);
    }

    boolean isScalar() {
      return shape.length == 0;
    }

    /** The single element, if this is a fully known one-element tensor. */
    Long single() {
      return elements.length == 1 && !partial ? elements[0] : null;
    }

    @Override
    public String toString() {
      return type
          + Arrays.toString(shape)
          + Arrays.toString(
              Arrays.stream(elements).mapToObj(e -> e == UNKNOWN ? "?" : "" + e).toArray());
    }
  }

  /** Keyed by the tensor itself: its hash is the op's address, where a name would be a JNI call. */
  private final Map<Output<?>, Value> known = new HashMap<>();

  /** The value of {@code output}, or null where it is not known when the graph is built. */
  Value of(Output<?> output) {
    return known.get(output);
  }

  /** Records that {@code output} holds {@code value} (ignored when null). */
  void record(Output<?> output, Value value) {
    if (value != null) {
      known.put(output, value);
    }
  }

  /**
   * The value of output 0 of an op {@code op}, given its attributes, the values of its inputs (null
   * where unknown) and the static shapes of its inputs (null where not available); null where it is
   * not known or not tracked.
   */
  static Value evaluate(
      String op, Map<String, AttrValue> attrs, List<Value> inputs, List<Shape> inputShapes) {
    Value result;
    try {
      result = evaluateOne(op, attrs, inputs, inputShapes);
    } catch (ArithmeticException | IllegalArgumentException | IndexOutOfBoundsException e) {
      // e.g. a division by zero or a malformed slice: TensorFlow reports it when the op runs.
      result = null;
    }
    if (result != null && result.elements().length > MAX_ELEMENTS) {
      result = null;
    }
    return result;
  }

  private static Value evaluateOne(
      String op, Map<String, AttrValue> attrs, List<Value> inputs, List<Shape> inputShapes) {
    switch (op) {
      case "Const":
        return constant(attrs.get("value"));
      case "Shape":
        return shape(inputShapes.isEmpty() ? null : inputShapes.get(0), outType(attrs));
      case "Identity":
      case "Snapshot":
      case "StopGradient":
        return inputs.get(0);
      default:
        break;
    }
    for (Value input : inputs) {
      if (input == null) {
        return null;
      }
    }
    switch (op) {
      case "StridedSlice":
        return stridedSlice(inputs, attrs);
      case "Pack":
        return pack(inputs);
      case "Cast":
        return cast(inputs.get(0), attrs.get("DstT").getType());
      case "LogicalNot":
        return map(inputs.get(0), DataType.DT_BOOL, x -> x == 0 ? 1 : 0);
      default:
        break;
    }
    if (inputs.size() != 2) {
      return null;
    }
    Value a = inputs.get(0);
    Value b = inputs.get(1);
    switch (op) {
      case "Add":
      case "AddV2":
        return binary(a, b, a.type(), Math::addExact);
      case "Sub":
        return binary(a, b, a.type(), Math::subtractExact);
      case "Mul":
        return binary(a, b, a.type(), Math::multiplyExact);
      case "FloorDiv":
        return binary(a, b, a.type(), Math::floorDiv);
      case "FloorMod":
        return binary(a, b, a.type(), Math::floorMod);
      case "Maximum":
        return binary(a, b, a.type(), Math::max);
      case "Minimum":
        return binary(a, b, a.type(), Math::min);
      case "Less":
        return binary(a, b, DataType.DT_BOOL, (x, y) -> x < y ? 1 : 0);
      case "LessEqual":
        return binary(a, b, DataType.DT_BOOL, (x, y) -> x <= y ? 1 : 0);
      case "Greater":
        return binary(a, b, DataType.DT_BOOL, (x, y) -> x > y ? 1 : 0);
      case "GreaterEqual":
        return binary(a, b, DataType.DT_BOOL, (x, y) -> x >= y ? 1 : 0);
      case "Equal":
        return binary(a, b, DataType.DT_BOOL, (x, y) -> x == y ? 1 : 0);
      case "NotEqual":
        return binary(a, b, DataType.DT_BOOL, (x, y) -> x != y ? 1 : 0);
      case "LogicalAnd":
        return binary(a, b, DataType.DT_BOOL, (x, y) -> x != 0 && y != 0 ? 1 : 0);
      case "LogicalOr":
        return binary(a, b, DataType.DT_BOOL, (x, y) -> x != 0 || y != 0 ? 1 : 0);
      default:
        return null;
    }
  }

  private static boolean tracked(DataType type) {
    return type == DataType.DT_INT32 || type == DataType.DT_INT64 || type == DataType.DT_BOOL;
  }

  private static DataType outType(Map<String, AttrValue> attrs) {
    AttrValue type = attrs.get("out_type");
    return type == null ? DataType.DT_INT32 : type.getType();
  }

  private static Value constant(AttrValue attr) {
    if (attr == null || !attr.hasTensor()) {
      return null;
    }
    TensorProto tensor = attr.getTensor();
    DataType type = tensor.getDtype();
    if (!tracked(type)) {
      return null;
    }
    long[] shape = new long[tensor.getTensorShape().getDimCount()];
    long size = 1;
    for (int i = 0; i < shape.length; i++) {
      shape[i] = tensor.getTensorShape().getDim(i).getSize();
      size *= shape[i];
    }
    if (size < 0 || size > MAX_ELEMENTS) {
      return null;
    }
    long[] elements = new long[(int) size];
    if (!tensor.getTensorContent().isEmpty()) {
      ByteBuffer bytes =
          tensor.getTensorContent().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < elements.length; i++) {
        elements[i] =
            switch (type) {
              case DT_INT32 -> bytes.getInt();
              case DT_INT64 -> bytes.getLong();
              default -> bytes.get() != 0 ? 1 : 0;
            };
      }
      return new Value(type, shape, elements, false);
    }
    int count =
        switch (type) {
          case DT_INT32 -> tensor.getIntValCount();
          case DT_INT64 -> tensor.getInt64ValCount();
          default -> tensor.getBoolValCount();
        };
    for (int i = 0; i < elements.length; i++) {
      // A proto may list fewer values than elements: the last one repeats (zero if none).
      int j = Math.min(i, count - 1);
      elements[i] =
          j < 0
              ? 0
              : switch (type) {
                case DT_INT32 -> tensor.getIntVal(j);
                case DT_INT64 -> tensor.getInt64Val(j);
                default -> tensor.getBoolVal(j) ? 1 : 0;
              };
    }
    return new Value(type, shape, elements, false);
  }

  private static Value shape(Shape shape, DataType type) {
    if (shape == null || shape.isUnknown()) {
      return null;
    }
    long[] dims = new long[shape.numDimensions()];
    boolean partial = false;
    for (int i = 0; i < dims.length; i++) {
      dims[i] = shape.get(i) < 0 ? UNKNOWN : shape.get(i);
      partial |= dims[i] == UNKNOWN;
    }
    return new Value(type, new long[] {dims.length}, dims, partial);
  }

  /** A slice of a vector: one element ({@code shrink_axis_mask}) or a strided range. */
  private static Value stridedSlice(List<Value> inputs, Map<String, AttrValue> attrs) {
    Value input = inputs.get(0);
    Long begin = inputs.get(1).single();
    Long end = inputs.get(2).single();
    Long stride = inputs.get(3).single();
    if (input.shape().length != 1
        || begin == null
        || end == null
        || stride == null
        || stride == 0) {
      return null;
    }
    for (String mask : List.of("ellipsis_mask", "new_axis_mask")) {
      if (attrs.containsKey(mask) && attrs.get(mask).getI() != 0) {
        return null;
      }
    }
    long length = input.shape()[0];
    long mask = attrs.containsKey("shrink_axis_mask") ? attrs.get("shrink_axis_mask").getI() : 0;
    if ((mask & 1) != 0) {
      long i = begin < 0 ? begin + length : begin;
      if (i < 0 || i >= length || input.elements()[(int) i] == UNKNOWN) {
        return null;
      }
      return Value.scalar(input.type(), input.elements()[(int) i]);
    }
    if (input.partial()) {
      return null;
    }
    boolean fromStart =
        attrs.containsKey("begin_mask") && (attrs.get("begin_mask").getI() & 1) != 0;
    boolean toEnd = attrs.containsKey("end_mask") && (attrs.get("end_mask").getI() & 1) != 0;
    long first = fromStart ? (stride > 0 ? 0 : length - 1) : clamp(begin, length, stride);
    long last = toEnd ? (stride > 0 ? length : -1) : clamp(end, length, stride);
    long[] picked =
        new long[(int) Math.max(0, (last - first + stride - Long.signum(stride)) / stride)];
    for (int k = 0; k < picked.length; k++) {
      picked[k] = input.elements()[(int) (first + k * stride)];
    }
    return new Value(input.type(), new long[] {picked.length}, picked, false);
  }

  private static long clamp(long index, long length, long stride) {
    long i = index < 0 ? index + length : index;
    return stride > 0 ? Math.max(0, Math.min(i, length)) : Math.max(-1, Math.min(i, length - 1));
  }

  private static Value pack(List<Value> inputs) {
    long[] elements = new long[inputs.size()];
    for (int i = 0; i < elements.length; i++) {
      Long single = inputs.get(i).isScalar() ? inputs.get(i).single() : null;
      if (single == null) {
        return null;
      }
      elements[i] = single;
    }
    return new Value(inputs.get(0).type(), new long[] {elements.length}, elements, false);
  }

  private static Value cast(Value input, DataType to) {
    if (!tracked(to) || input.partial()) {
      return null;
    }
    return map(
        input,
        to,
        x ->
            switch (to) {
              case DT_INT32 -> (int) x;
              case DT_BOOL -> x != 0 ? 1 : 0;
              default -> x;
            });
  }

  private static Value map(Value input, DataType type, java.util.function.LongUnaryOperator f) {
    if (input.partial()) {
      return null;
    }
    long[] out = new long[input.elements().length];
    for (int i = 0; i < out.length; i++) {
      out[i] = f.applyAsLong(input.elements()[i]);
    }
    return new Value(type, input.shape(), out, false);
  }

  /** Elementwise on equal shapes or with one scalar side; int32 results wrap as TensorFlow's do. */
  private static Value binary(
      Value a, Value b, DataType type, java.util.function.LongBinaryOperator f) {
    if (a.partial() || b.partial()) {
      return null;
    }
    long[] shape;
    if (Arrays.equals(a.shape(), b.shape())) {
      shape = a.shape();
    } else if (a.elements().length == 1 && a.isScalar()) {
      shape = b.shape();
    } else if (b.elements().length == 1 && b.isScalar()) {
      shape = a.shape();
    } else {
      return null;
    }
    int n = Math.max(a.elements().length, b.elements().length);
    long[] out = new long[n];
    for (int i = 0; i < n; i++) {
      long x = a.elements()[a.elements().length == 1 ? 0 : i];
      long y = b.elements()[b.elements().length == 1 ? 0 : i];
      long r = f.applyAsLong(x, y);
      out[i] = type == DataType.DT_INT32 ? (int) r : r;
    }
    return new Value(type, shape, out, false);
  }
}
