package io.github.tfl1l2;

import java.util.Objects;

/** Preconditions with messages that name the argument, the value and what is allowed. */
final class Checks {
  private Checks() {}

  /** Returns {@code value} if it is finite and not negative. */
  static double nonNegativeFinite(String argument, double value) {
    if (!(value >= 0.0) || Double.isInfinite(value)) {
      throw new IllegalArgumentException(
          argument + " must be a finite number >= 0, but was " + value);
    }
    return value;
  }

  /** Returns {@code value}, or throws a {@link NullPointerException} naming {@code argument}. */
  static <T> T notNull(String argument, T value) {
    return Objects.requireNonNull(value, () -> argument + " must not be null");
  }
}
