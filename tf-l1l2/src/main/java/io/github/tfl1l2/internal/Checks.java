package io.github.tfl1l2.internal;

import java.util.Objects;

/**
 * Preconditions with messages that name the argument, the value and what is allowed.
 *
 * <p>Not API: public only so that every package of this library states a precondition in the same
 * words.
 */
public final class Checks {
  private Checks() {}

  /**
   * Returns {@code value} if it is finite and not negative.
   *
   * @param argument how the message names the value, e.g. {@code "l1"} or {@code "--l1"}
   * @param value the number to check
   * @return {@code value}, unchanged
   * @throws IllegalArgumentException "{@code <argument> must be a finite number >= 0, but was
   *     <value>}" if {@code value} is negative, infinite or NaN
   */
  public static double nonNegativeFinite(String argument, double value) {
    if (!(value >= 0.0) || Double.isInfinite(value)) {
      throw new IllegalArgumentException(
          argument + " must be a finite number >= 0, but was " + value);
    }
    return value;
  }

  /**
   * Returns {@code value}, or throws a {@link NullPointerException} naming {@code argument}.
   *
   * @param <T> the type of {@code value}
   * @param argument how the message names the value: "{@code <argument> must not be null}"
   * @param value the reference to check
   * @return {@code value}, unchanged, when it is not null
   */
  public static <T> T notNull(String argument, T value) {
    return Objects.requireNonNull(value, () -> argument + " must not be null");
  }
}
