package io.github.tfl1l2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TFloat64;

class SelectionAndZeroShortcutTest {

  /** Names of the penalty ops (scope {@code l1_l2}) that consume an output of {@code parameter}. */
  private static List<String> consumersOf(Operand<?> parameter) {
    List<String> names = new ArrayList<>();
    for (GraphOperation consumer : ((GraphOperation) parameter.op()).consumers()) {
      if (consumer.name().startsWith("l1_l2")) {
        names.add(consumer.name());
      }
    }
    return names;
  }

  @Test
  void zeroCoefficientsEmitAConstantThatReadsNoParameter() {
    try (GraphOrEager rt = GraphOrEager.of("graph")) {
      Operand<TFloat32> w =
          rt.tf.withName("kernel").variable(rt.tf.withInitScope().constant(new float[] {1f, -2f}));
      Operand<TFloat32> zero = L1L2.of(0, 0).penalty(rt.tf, List.of(w));
      assertEquals(List.of(), consumersOf(w));
      assertEquals(0.0, rt.scalar(zero));
    }
  }

  @Test
  void zeroWeightAlsoReadsNoParameter() {
    try (GraphOrEager rt = GraphOrEager.of("graph")) {
      Operand<TFloat32> w = rt.tf.constant(new float[] {3f});
      Operand<TFloat64> zero =
          L1L2.builder().l1(1).l2(1).weight(0).build().penalty(rt.tf, List.of(w), TFloat64.class);
      assertEquals(List.of(), consumersOf(w));
      assertEquals(0.0, rt.scalar(zero));
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"graph", "eager"})
  void zeroShortcutWithNoneReductionGivesOneZeroPerParameter(String mode) {
    try (GraphOrEager rt = GraphOrEager.of(mode)) {
      L1L2 none = L1L2.builder().reduction(Reduction.NONE).build();
      float[] values =
          rt.floats(none.penalty(rt.tf, List.of(rt.tf.constant(1f), rt.tf.constant(2f))));
      assertArrayEquals(new float[] {0f, 0f}, values);
    }
  }

  @Test
  void onSelectsMapEntriesByKey() {
    try (GraphOrEager rt = GraphOrEager.of("graph")) {
      Map<String, Operand<?>> named = new LinkedHashMap<>();
      named.put("dense/kernel", rt.tf.constant(new float[] {1f, -1f}));
      named.put("dense/bias", rt.tf.constant(new float[] {100f}));
      named.put("bn/gamma", rt.tf.constant(new float[] {1000f}));
      named.put("out/kernel", rt.tf.constant(new float[] {-3f}));
      L1L2 kernels = L1L2.builder().l1(1).on("kernel$").build();
      assertEquals(5.0, rt.scalar(kernels.penalty(rt.tf, named)), 1e-6);
    }
  }

  @Test
  void onSelectsListEntriesByOpName() {
    try (GraphOrEager rt = GraphOrEager.of("graph")) {
      Ops tf = rt.tf;
      Operand<TFloat32> kernel = tf.withName("kernel").constant(new float[] {2f});
      Operand<TFloat32> bias = tf.withName("bias").constant(new float[] {7f});
      L1L2 kernels = L1L2.builder().l2(1).on("^kernel").build();
      assertEquals(4.0, rt.scalar(kernels.penalty(tf, List.of(kernel, bias))), 1e-6);
      assertEquals(List.of(), consumersOf(bias), "an unselected parameter is never read");
    }
  }

  @Test
  void onMatchesAGraphReadByTheNameOfTheVariableItReads() {
    try (GraphOrEager rt = GraphOrEager.of("graph")) {
      Ops tf = rt.tf;
      Operand<TFloat32> kernel =
          tf.withSubScope("dense")
              .withName("kernel")
              .variable(tf.withInitScope().constant(new float[] {3f}));
      Operand<TFloat32> bias =
          tf.withSubScope("dense")
              .withName("bias")
              .variable(tf.withInitScope().constant(new float[] {5f}));
      L1L2 kernels = L1L2.builder().l1(1).on("kernel").build();
      double value =
          rt.scalar(
              kernels.penalty(tf, List.of(tf.identity(tf.identity(kernel)), tf.identity(bias))));
      assertEquals(3.0, value, 1e-6);
    }
  }

  @Test
  void emptySelectionGivesZero() {
    try (GraphOrEager rt = GraphOrEager.of("graph")) {
      L1L2 none = L1L2.builder().l1(1).on("nothing-matches").build();
      Operand<TFloat32> w = rt.tf.constant(new float[] {2f});
      assertEquals(0.0, rt.scalar(none.penalty(rt.tf, List.of(w))));
      assertEquals(0.0, rt.scalar(L1L2.of(1, 1).penalty(rt.tf, List.of())));
    }
  }

  @Test
  void everyEmittedNodeSitsUnderTheNameScopeMadeUnique() {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Operand<TFloat32> w = tf.withName("w").constant(new float[] {1f, 2f});
      L1L2 reg = L1L2.of(0.1, 0.1);
      Operand<TFloat32> first = reg.penalty(tf, List.of(w));
      Operand<TFloat32> second = reg.penalty(tf, List.of(w));
      Operand<TFloat32> custom = reg.toBuilder().name("decay").build().penalty(tf, List.of(w));
      assertTrue(first.op().name().startsWith("l1_l2/"), first.op().name());
      assertTrue(second.op().name().startsWith("l1_l2_1/"), second.op().name());
      assertTrue(custom.op().name().startsWith("decay/"), custom.op().name());
      List<String> outside = new ArrayList<>();
      g.operations()
          .forEachRemaining(
              op -> {
                String name = op.name();
                if (!name.equals("w")
                    && !name.startsWith("l1_l2/")
                    && !name.startsWith("l1_l2_1/")
                    && !name.startsWith("decay/")) {
                  outside.add(name);
                }
              });
      assertEquals(List.of(), outside);
    }
  }
}
