package io.github.tfl1l2.savedmodel.inline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.DataType;

/** {@link StaticValues#evaluate}: the build-time values of loop bounds, counters and indices. */
class StaticValuesTest {
  private static StaticValues.Value scalar(long value) {
    return StaticValues.Value.scalar(DataType.DT_INT32, value);
  }

  private static StaticValues.Value vector(long... values) {
    return new StaticValues.Value(DataType.DT_INT32, new long[] {values.length}, values, false);
  }

  private static StaticValues.Value shapeOf(Shape shape) {
    return StaticValues.evaluate(
        "Shape", Map.of(), Arrays.asList((StaticValues.Value) null), List.of(shape));
  }

  @Test
  void aConstantOfPackedBytesIsReadLittleEndian() {
    StaticValues.Value value =
        StaticValues.evaluate(
            "Const", Map.of("value", KerasLoops.ints(1, 0, 2)), List.of(), List.of());
    assertArrayEquals(new long[] {1, 0, 2}, value.elements());
    assertArrayEquals(new long[] {3}, value.shape());
  }

  @Test
  void aKnownDimensionOfAPartlyKnownShapeIsPickedByStridedSlice() {
    // Keras's time bound: Shape(transpose(x))[0] with x of shape [-1, 100, 32] → [100, -1, 32].
    StaticValues.Value shape = shapeOf(Shape.of(100, -1, 32));
    Map<String, AttrValue> shrink = Map.of("shrink_axis_mask", KerasLoops.i(1));
    StaticValues.Value time =
        StaticValues.evaluate(
            "StridedSlice", shrink, List.of(shape, vector(0), vector(1), vector(1)), List.of());
    assertEquals(100L, time.single());
    assertNull(
        StaticValues.evaluate(
            "StridedSlice", shrink, List.of(shape, vector(1), vector(2), vector(1)), List.of()),
        "the batch dimension is unknown");
  }

  @Test
  void theKerasConditionIsEvaluatedAndUnknownInputsMakeItUnknown() {
    StaticValues.Value less =
        StaticValues.evaluate("Less", Map.of(), List.of(scalar(99), scalar(100)), List.of());
    StaticValues.Value counterBelowMaximum =
        StaticValues.evaluate("Less", Map.of(), List.of(scalar(100), scalar(100)), List.of());
    assertEquals(1L, less.single());
    assertEquals(
        0L,
        StaticValues.evaluate("LogicalAnd", Map.of(), List.of(counterBelowMaximum, less), List.of())
            .single());
    assertNull(StaticValues.evaluate("Less", Map.of(), Arrays.asList(scalar(0), null), List.of()));
  }

  @Test
  void int32ArithmeticWrapsAsTensorFlowsDoes() {
    StaticValues.Value sum =
        StaticValues.evaluate(
            "AddV2", Map.of(), List.of(scalar(Integer.MAX_VALUE), scalar(1)), List.of());
    assertEquals((long) Integer.MIN_VALUE, sum.single());
  }

  @Test
  void floatingTensorsAreNotTracked() {
    AttrValue value =
        AttrValue.newBuilder()
            .setTensor(
                org.tensorflow.proto.TensorProto.newBuilder()
                    .setDtype(DataType.DT_FLOAT)
                    .addFloatVal(1f))
            .build();
    assertNull(StaticValues.evaluate("Const", Map.of("value", value), List.of(), List.of()));
  }
}
