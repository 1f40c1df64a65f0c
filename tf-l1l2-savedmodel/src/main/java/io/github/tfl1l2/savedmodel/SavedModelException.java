package io.github.tfl1l2.savedmodel;

/**
 * A SavedModel cannot be read or written as asked. The message is one line that names the
 * directory and says what is wrong with it.
 */
public final class SavedModelException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** An exception with a one-line {@code message}. */
  public SavedModelException(String message) {
    super(message);
  }

  /** An exception with a one-line {@code message} and its cause. */
  public SavedModelException(String message, Throwable cause) {
    super(message, cause);
  }
}
