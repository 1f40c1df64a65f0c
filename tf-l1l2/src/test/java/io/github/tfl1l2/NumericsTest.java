package io.github.tfl1l2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.tensorflow.Operand;
import org.tensorflow.exceptions.TFInvalidArgumentException;

class NumericsTest {

  private static Map<String, Operand<?>> withBadValue(GraphOrEager rt, float bad) {
    Map<String, Operand<?>> named = new LinkedHashMap<>();
    named.put("good", rt.tf.constant(new float[] {1f, 2f}));
    named.put("layer3/kernel", rt.tf.constant(new float[] {1f, bad}));
    return named;
  }

  @Test
  void nanInAWeightPropagatesToThePenalty() {
    try (GraphOrEager rt = GraphOrEager.of("graph")) {
      assertTrue(
          Double.isNaN(rt.scalar(L1L2.of(1, 1).penalty(rt.tf, withBadValue(rt, Float.NaN)))));
    }
  }

  @Test
  void infinityInAWeightPropagatesToThePenalty() {
    try (GraphOrEager rt = GraphOrEager.of("graph")) {
      double value =
          rt.scalar(L1L2.of(1, 1).penalty(rt.tf, withBadValue(rt, Float.NEGATIVE_INFINITY)));
      assertEquals(Double.POSITIVE_INFINITY, value);
    }
  }

  @Test
  void checkNumericsFailsTheRunNamingTheOffendingParameter() {
    try (GraphOrEager rt = GraphOrEager.of("graph")) {
      L1L2 checked = L1L2.builder().l1(1).l2(1).checkNumerics(true).build();
      Operand<?> penalty = checked.penalty(rt.tf, withBadValue(rt, Float.NaN));
      TFInvalidArgumentException e =
          assertThrows(TFInvalidArgumentException.class, () -> rt.scalar(penalty));
      assertTrue(e.getMessage().contains("\"layer3/kernel\""), e.getMessage());
    }
  }

  @Test
  void checkNumericsPassesFiniteWeightsUnchanged() {
    try (GraphOrEager rt = GraphOrEager.of("graph")) {
      L1L2 checked = L1L2.builder().l1(1).l2(1).checkNumerics(true).build();
      assertEquals(
          1 + 2 + 1 + 3 + 1 + 4 + 1 + 9,
          rt.scalar(checked.penalty(rt.tf, withBadValue(rt, 3f))),
          1e-6);
    }
  }
}
