package io.github.tfl1l2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.tensorflow.EagerSession;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

class ParameterValidationTest {

  @Test
  void nullParameterListIsRejectedByName() {
    try (Graph g = new Graph()) {
      NullPointerException e =
          assertThrows(
              NullPointerException.class,
              () -> L1L2.of(1, 1).penalty(Ops.create(g), (Iterable<Operand<?>>) null));
      assertEquals("parameters must not be null", e.getMessage());
    }
  }

  @Test
  void nullElementIsRejectedNamingItsIndex() {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      List<Operand<?>> params = new ArrayList<>(Arrays.asList(tf.constant(1f), null));
      NullPointerException e =
          assertThrows(NullPointerException.class, () -> L1L2.of(1, 1).penalty(tf, params));
      assertEquals("parameters[1] is null", e.getMessage());
    }
  }

  @Test
  void nullMapValueIsRejectedNamingIndexAndKey() {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Map<String, Operand<?>> params = new LinkedHashMap<>();
      params.put("kernel", null);
      NullPointerException e =
          assertThrows(NullPointerException.class, () -> L1L2.of(1, 1).penalty(tf, params));
      assertEquals("parameters[0] (\"kernel\") is null", e.getMessage());
    }
  }

  @Test
  void integerParameterIsRejectedNamingOpAndDtype() {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Operand<TInt32> counts = tf.withName("counts").constant(new int[] {1, 2});
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> L1L2.of(1, 1).penalty(tf, List.of(tf.constant(1f), counts)));
      assertTrue(
          e.getMessage().contains("parameters[1] (op \"counts\") has dtype DT_INT32"),
          e.getMessage());
      assertTrue(
          e.getMessage().contains("allowed are DT_HALF, DT_BFLOAT16, DT_FLOAT and DT_DOUBLE"));
    }
  }

  @Test
  void parameterFromAnotherGraphIsRejected() {
    try (Graph g1 = new Graph();
        Graph g2 = new Graph()) {
      Operand<TFloat32> foreign = Ops.create(g2).withName("w").constant(1f);
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> L1L2.of(1, 1).penalty(Ops.create(g1), List.of(foreign)));
      assertTrue(
          e.getMessage().startsWith("parameters[0] (op \"w\") belongs to another execution"),
          e.getMessage());
    }
  }

  @Test
  void eagerParameterInAGraphIsRejected() {
    try (Graph g = new Graph();
        EagerSession eager = EagerSession.create()) {
      Operand<TFloat32> eagerValue = Ops.create(eager).constant(1f);
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> L1L2.of(1, 1).penalty(Ops.create(g), List.of(eagerValue)));
      assertTrue(e.getMessage().contains("another execution environment (EAGER"), e.getMessage());
    }
  }

  @Test
  @SuppressWarnings({"unchecked", "rawtypes"})
  void nonFloatingResultTypeIsRejected() {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Class raw = TInt32.class;
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> L1L2.of(1, 1).penalty(tf, List.of(tf.constant(1f)), raw));
      assertEquals(
          "type (TInt32) has dtype DT_INT32; allowed are DT_HALF, DT_BFLOAT16, DT_FLOAT and"
              + " DT_DOUBLE",
          e.getMessage());
    }
  }

  @Test
  void addToRejectsTheNoneReduction() {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      L1L2 none = L1L2.builder().l1(1).reduction(Reduction.NONE).build();
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> none.addTo(tf, tf.constant(0f), List.of(tf.constant(1f))));
      assertTrue(e.getMessage().startsWith("reduction must be SUM or SUM_OVER_BATCH_SIZE"));
    }
  }
}
