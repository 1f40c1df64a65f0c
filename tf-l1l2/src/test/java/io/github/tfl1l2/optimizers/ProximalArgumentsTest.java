package io.github.tfl1l2.optimizers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.github.tfl1l2.L1L2;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.tensorflow.Graph;

/** Bad constructor arguments: one exception naming the argument, the value and what is allowed. */
class ProximalArgumentsTest {
  private static final L1L2 REG = L1L2.l1(0.1);

  @Test
  void nullGraphIsRejected() {
    assertEquals(
        "graph must not be null",
        assertThrows(NullPointerException.class, () -> new ProximalGradientDescent(null, 0.1f, REG))
            .getMessage());
    assertEquals(
        "graph must not be null",
        assertThrows(NullPointerException.class, () -> new ProximalAdaGrad(null, 0.1f, REG))
            .getMessage());
  }

  @Test
  void nullRegularizerIsRejected() {
    try (Graph graph = new Graph()) {
      assertEquals(
          "regularizer must not be null",
          assertThrows(
                  NullPointerException.class, () -> new ProximalGradientDescent(graph, 0.1f, null))
              .getMessage());
      assertEquals(
          "regularizer must not be null",
          assertThrows(NullPointerException.class, () -> new ProximalAdaGrad(graph, 0.1f, null))
              .getMessage());
    }
  }

  @ParameterizedTest
  @ValueSource(floats = {0f, -0.5f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY})
  void learningRateMustBeFiniteAndPositive(float learningRate) {
    try (Graph graph = new Graph()) {
      String expected = "learningRate must be a finite number > 0, but was " + learningRate;
      assertEquals(
          expected,
          assertThrows(
                  IllegalArgumentException.class,
                  () -> new ProximalGradientDescent(graph, learningRate, REG))
              .getMessage());
      assertEquals(
          expected,
          assertThrows(
                  IllegalArgumentException.class,
                  () -> new ProximalAdaGrad(graph, learningRate, REG))
              .getMessage());
    }
  }

  @ParameterizedTest
  @ValueSource(floats = {0f, -0.1f, Float.NaN, Float.POSITIVE_INFINITY})
  void initialAccumulatorValueMustBeFiniteAndPositive(float value) {
    try (Graph graph = new Graph()) {
      assertEquals(
          "initialAccumulatorValue must be a finite number > 0, but was " + value,
          assertThrows(
                  IllegalArgumentException.class,
                  () -> new ProximalAdaGrad(graph, 0.1f, value, REG))
              .getMessage());
    }
  }

  @Test
  void settingsAreKept() {
    try (Graph graph = new Graph()) {
      ProximalAdaGrad adaGrad = new ProximalAdaGrad(graph, 0.3f, REG);
      assertEquals(0.3f, adaGrad.learningRate());
      assertEquals(0.1f, adaGrad.initialAccumulatorValue());
      assertEquals(REG, adaGrad.regularizer());
      ProximalGradientDescent gd = new ProximalGradientDescent(graph, 0.2f, REG);
      assertEquals(0.2f, gd.learningRate());
      assertEquals(REG, gd.regularizer());
    }
  }
}
