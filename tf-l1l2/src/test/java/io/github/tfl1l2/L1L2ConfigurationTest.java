package io.github.tfl1l2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class L1L2ConfigurationTest {

  @Test
  void defaultsFollowTheTreexRegularizer() {
    L1L2 reg = L1L2.builder().build();
    assertEquals(0.0, reg.l1());
    assertEquals(0.0, reg.l2());
    assertEquals(1.0, reg.weight());
    assertEquals(Reduction.SUM_OVER_BATCH_SIZE, reg.reduction());
    assertEquals("l1_l2", reg.name());
    assertEquals(Optional.empty(), reg.on());
    assertTrue(reg.xla());
    assertFalse(reg.checkNumerics());
    assertTrue(reg.isZero());
  }

  @Test
  void ofSetsBothCoefficientsAndKeepsOtherDefaults() {
    L1L2 reg = L1L2.of(0.01, 0.02);
    assertEquals(0.01, reg.l1());
    assertEquals(0.02, reg.l2());
    assertEquals(L1L2.builder().l1(0.01).l2(0.02).build(), reg);
  }

  @Test
  void l1ShorthandIsAnL1OnlyRegularizerWithDefaults() {
    assertEquals(L1L2.builder().l1(0.25).build(), L1L2.l1(0.25));
    assertEquals(0.0, L1L2.l1(0.25).l2());
  }

  @Test
  void l2ShorthandIsAnL2OnlyRegularizerWithDefaults() {
    assertEquals(L1L2.builder().l2(0.01).build(), L1L2.l2(0.01));
    assertEquals(0.0, L1L2.l2(0.01).l1());
  }

  @Test
  void shorthandsValidateTheirCoefficientByName() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> L1L2.l2(-1));
    assertEquals("l2 must be a finite number >= 0, but was -1.0", e.getMessage());
  }

  @Test
  void selectsEverythingWithoutOn() {
    assertTrue(L1L2.l1(1).selects("dense/bias"));
  }

  @Test
  void selectsNamesContainingAMatchOfOn() {
    L1L2 reg = L1L2.builder().l1(1).on("kernel").build();
    assertTrue(reg.selects("dense/kernel"));
    assertTrue(reg.selects("kernel_1"));
    assertFalse(reg.selects("dense/bias"));
  }

  @Test
  void selectsHonoursAnchors() {
    L1L2 reg = L1L2.builder().l1(1).on("^kernel$").build();
    assertTrue(reg.selects("kernel"));
    assertFalse(reg.selects("dense/kernel"));
  }

  @Test
  void selectsRejectsANullName() {
    NullPointerException e =
        assertThrows(NullPointerException.class, () -> L1L2.l1(1).selects(null));
    assertEquals("name must not be null", e.getMessage());
  }

  @Test
  void toBuilderRoundTripsEverySetting() {
    L1L2 reg =
        L1L2.builder()
            .l1(1)
            .l2(2)
            .weight(3)
            .reduction(Reduction.NONE)
            .on("kernel")
            .name("reg")
            .xla(false)
            .checkNumerics(true)
            .build();
    assertEquals(reg, reg.toBuilder().build());
    assertEquals(reg.hashCode(), reg.toBuilder().build().hashCode());
    assertNotEquals(reg, reg.toBuilder().xla(true).build());
  }

  @Test
  void weightZeroMakesThePenaltyZero() {
    assertTrue(L1L2.builder().l1(1).l2(1).weight(0).build().isZero());
    assertFalse(L1L2.of(0, 1e-9).isZero());
  }

  @Test
  void toStringShowsTheConfiguration() {
    String text = L1L2.builder().l1(0.5).on("^k").build().toString();
    assertTrue(text.contains("l1=0.5") && text.contains("on=^k"), text);
  }

  @ParameterizedTest
  @ValueSource(
      doubles = {-1e-9, -1, Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY})
  void invalidL1IsRejectedNamingArgumentAndValue(double value) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> L1L2.builder().l1(value).build());
    assertTrue(e.getMessage().startsWith("l1 must be a finite number >= 0"), e.getMessage());
    assertTrue(e.getMessage().contains(String.valueOf(value)), e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(doubles = {-2, Double.NaN, Double.POSITIVE_INFINITY})
  void invalidL2IsRejectedNamingArgumentAndValue(double value) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> L1L2.of(0, value));
    assertTrue(e.getMessage().startsWith("l2 must be a finite number >= 0"), e.getMessage());
    assertTrue(e.getMessage().contains(String.valueOf(value)), e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(doubles = {-0.5, Double.NaN, Double.NEGATIVE_INFINITY})
  void invalidWeightIsRejectedNamingArgumentAndValue(double value) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> L1L2.builder().weight(value).build());
    assertTrue(e.getMessage().startsWith("weight must be a finite number >= 0"), e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "a/b", "_lead", "sp ace", "ü"})
  void invalidNameIsRejectedWithWhatIsAllowed(String name) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> L1L2.builder().name(name).build());
    assertTrue(e.getMessage().startsWith("name must match"), e.getMessage());
    assertTrue(e.getMessage().contains("\"" + name + "\""), e.getMessage());
  }

  @Test
  void invalidRegexIsRejectedNamingIt() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> L1L2.builder().on("kernel(").build());
    assertTrue(e.getMessage().startsWith("on must be a valid java.util.regex pattern"));
    assertTrue(e.getMessage().contains("kernel("), e.getMessage());
  }

  @Test
  void nullSettingsAreRejectedByName() {
    assertThrows(NullPointerException.class, () -> L1L2.builder().on(null));
    NullPointerException e =
        assertThrows(NullPointerException.class, () -> L1L2.builder().reduction(null).build());
    assertEquals("reduction must not be null", e.getMessage());
    e = assertThrows(NullPointerException.class, () -> L1L2.builder().name(null).build());
    assertEquals("name must not be null", e.getMessage());
  }

  @Test
  void settingsWhoseCoefficientsBothUnderflowAreRefusedNamingThem() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> L1L2.builder().l1(1e-170).l2(1e-170).weight(1e-170).build());
    assertTrue(e.getMessage().contains("underflow"), e.getMessage());
    assertTrue(e.getMessage().contains("weight=1.0E-170"), e.getMessage());
  }
}
