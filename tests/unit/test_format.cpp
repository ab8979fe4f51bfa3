// Unit tests of format_value (runtime/format.cpp): every expected string is
// what NumPy 1.24 prints for print(x) of the Python expression beside it
// (generated with /usr/bin/python3 and pasted here).
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "numjit/numjit.hpp"

using namespace numjit;

namespace {

using F = std::vector<double>;
using I = std::vector<int64_t>;
using B = std::vector<bool>;

const double nan = std::numeric_limits<double>::quiet_NaN();
const double inf = std::numeric_limits<double>::infinity();

std::string fmt(const Value& v) { return format_value(v); }

/** format_value of a view of `values` converted to T: shape {n} when `shape` is
 *  empty, C order when `strides` is empty. */
template <class T, class V>
std::string show_strided(const std::vector<V>& values, std::vector<int64_t> shape, std::vector<int64_t> strides) {
  std::unique_ptr<T[]> storage(new T[values.size() + 1]);
  for (size_t k = 0; k < values.size(); ++k) storage[k] = T(values[k]);
  if (shape.empty()) shape = {int64_t(values.size())};
  return format_value(Value(Array::view(storage.get(), dtype_of<T>(), shape, strides)));
}
template <class T, class V>
std::string show(const std::vector<V>& values, std::vector<int64_t> shape = {}) {
  return show_strided<T>(values, std::move(shape), {});
}
/** format_value of a rank-0 array. */
template <class T>
std::string show0(T value) {
  T storage = value;
  return format_value(Value(Array::view(&storage, dtype_of<T>(), {})));
}

/** i * mul / div for i < n, as np.arange(n) * mul / div. */
F ramp(int64_t n, double mul, double div = 1) {
  F v;
  for (int64_t i = 0; i < n; ++i) v.push_back(double(i) * mul / div);
  return v;
}
/** i * mul + add for i < n. */
I ramp_int(int64_t n, int64_t mul, int64_t add = 0) {
  I v;
  for (int64_t i = 0; i < n; ++i) v.push_back(i * mul + add);
  return v;
}
/** np.arange(n) % 3 == 0 */
B every_third(int64_t n) {
  B v;
  for (int64_t i = 0; i < n; ++i) v.push_back(i % 3 == 0);
  return v;
}
/** [i * i / 7 for i in range(n)] */
F squares_over_7(int64_t n) {
  F v;
  for (int64_t i = 0; i < n; ++i) v.push_back(double(i * i) / 7);
  return v;
}
/** values * times, as a Python list */
F repeat(const F& values, int times) {
  F v;
  for (int k = 0; k < times; ++k) v.insert(v.end(), values.begin(), values.end());
  return v;
}

struct Case {
  const char* numpy;     // the Python expression
  std::string text;      // format_value of the same value
  const char* expected;  // str() of the Python expression
};

void check(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    CAPTURE(c.numpy);
    CHECK(c.text == c.expected);
  }
}

}  // namespace

TEST_SUITE("format") {
TEST_CASE("float64 scalars") {
  check({
      {"np.float64(1.5)", fmt(Value(1.5)),
       "1.5"},
      {"np.float64(3.0)", fmt(Value(3.0)),
       "3.0"},
      {"np.float64(-2.0)", fmt(Value(-2.0)),
       "-2.0"},
      {"np.float64(0.0)", fmt(Value(0.0)),
       "0.0"},
      {"np.float64(-0.0)", fmt(Value(-0.0)),
       "-0.0"},
      {"np.float64(0.1 + 0.2)", fmt(Value(0.1 + 0.2)),
       "0.30000000000000004"},
      {"np.float64(1e-05)", fmt(Value(1e-05)),
       "1e-05"},
      {"np.float64(1.5e-05)", fmt(Value(1.5e-05)),
       "1.5e-05"},
      {"np.float64(0.0001)", fmt(Value(0.0001)),
       "0.0001"},
      {"np.float64(123456789012345.6)", fmt(Value(123456789012345.6)),
       "123456789012345.6"},
      {"np.float64(9999999999999998.0)", fmt(Value(9999999999999998.0)),
       "9999999999999998.0"},
      {"np.float64(1e16)", fmt(Value(1e16)),
       "1e+16"},
      {"np.float64(-1.2345e100)", fmt(Value(-1.2345e100)),
       "-1.2345e+100"},
      {"np.float64(5e-324)", fmt(Value(5e-324)),
       "5e-324"},
      {"np.float64(nan)", fmt(Value(nan)),
       "nan"},
      {"np.float64(inf)", fmt(Value(inf)),
       "inf"},
      {"np.float64(-inf)", fmt(Value(-inf)),
       "-inf"},
  });
}

TEST_CASE("float32 scalars") {
  check({
      {"np.float32(0.1)", fmt(Value(float(0.1))),
       "0.1"},
      {"np.float32(1/3)", fmt(Value(float(1.0 / 3))),
       "0.33333334"},
      {"np.float32(16777217.0)", fmt(Value(float(16777217.0))),
       "16777216.0"},
      {"np.float32(92807872.0)", fmt(Value(float(92807872.0))),
       "92807870.0"},
      {"np.float32(0.0001)", fmt(Value(float(0.0001))),
       "1e-04"},
      {"np.float32(1e16)", fmt(Value(float(1e16))),
       "1e+16"},
      {"np.float32(3.4028235e38)", fmt(Value(float(3.4028235e38))),
       "3.4028235e+38"},
      {"np.float32(-inf)", fmt(Value(-float(inf))),
       "-inf"},
      {"np.float32(nan)", fmt(Value(float(nan))),
       "nan"},
  });
}

TEST_CASE("integer and bool scalars") {
  check({
      {"np.int64(0)", fmt(Value(int64_t(0))),
       "0"},
      {"np.int64(-42)", fmt(Value(-42)),
       "-42"},
      {"np.int64(-2**63)", fmt(Value(std::numeric_limits<int64_t>::min())),
       "-9223372036854775808"},
      {"np.int64(2**63 - 1)", fmt(Value(std::numeric_limits<int64_t>::max())),
       "9223372036854775807"},
      {"np.int32(-7)", fmt(Value::scalar(DType::I32, 0, -7)),
       "-7"},
      {"np.bool_(True)", fmt(Value(true)),
       "True"},
      {"np.bool_(False)", fmt(Value(false)),
       "False"},
  });
}

TEST_CASE("rank-0 arrays print as scalars") {
  check({
      {"np.array(2.5)", show0<double>(2.5),
       "2.5"},
      {"np.array(1e-07)", show0<double>(1e-07),
       "1e-07"},
      {"np.array(0.1, dtype=np.float32)", show0<float>(float(0.1)),
       "0.1"},
      {"np.array(-3, dtype=np.int32)", show0<int32_t>(-3),
       "-3"},
      {"np.array(12, dtype=np.int64)", show0<int64_t>(12),
       "12"},
      {"np.array(True)", show0<bool>(true),
       "True"},
  });
}

TEST_CASE("float64 arrays") {
  check({
      {"np.array([1, 2.5, 3])", show<double>(F{1, 2.5, 3}),
       "[1.  2.5 3. ]"},
      {"np.array([0.1, 1/3])", show<double>(F{0.1, 1.0 / 3}),
       "[0.1        0.33333333]"},
      {"np.array([1.0, 2.0, 3.0])", show<double>(F{1.0, 2.0, 3.0}),
       "[1. 2. 3.]"},
      {"np.array([0.0, 0.0])", show<double>(F{0.0, 0.0}),
       "[0. 0.]"},
      {"np.array([-0.0, 1.5])", show<double>(F{-0.0, 1.5}),
       "[-0.   1.5]"},
      {"np.array([-1.5, 2, -3.25])", show<double>(F{-1.5, 2, -3.25}),
       "[-1.5   2.   -3.25]"},
      {"np.array([123456.789, 0.5])", show<double>(F{123456.789, 0.5}),
       "[1.23456789e+05 5.00000000e-01]"},
      {"np.array([2**-9, 1.0])", show<double>(F{0.001953125, 1.0}),
       "[0.00195312 1.        ]"},
      {"np.array([1.23456789012, 2])", show<double>(F{1.23456789012, 2}),
       "[1.23456789 2.        ]"},
      {"np.array([0.999999999999, 1])", show<double>(F{0.999999999999, 1}),
       "[1. 1.]"},
      {"np.array([99999999.0, 1.5])", show<double>(F{99999999.0, 1.5}),
       "[9.9999999e+07 1.5000000e+00]"},
      {"np.array([0.001, 1.0])", show<double>(F{0.001, 1.0}),
       "[0.001 1.   ]"},
      {"np.array([0.0001, 0.1])", show<double>(F{0.0001, 0.1}),
       "[0.0001 0.1   ]"},
      {"np.array([42.0])", show<double>(F{42.0}),
       "[42.]"},
  });
}

TEST_CASE("float64 arrays in scientific notation") {
  check({
      {"np.array([1e-05, 1])", show<double>(F{1e-05, 1}),
       "[1.e-05 1.e+00]"},
      {"np.array([1e8, 1])", show<double>(F{1e8, 1}),
       "[1.e+08 1.e+00]"},
      {"np.array([1e-4, 1])", show<double>(F{1e-4, 1}),
       "[1.e-04 1.e+00]"},
      {"np.array([1e16, 1])", show<double>(F{1e16, 1}),
       "[1.e+16 1.e+00]"},
      {"np.array([1e16, 2.5e16, -3e16])", show<double>(F{1e16, 2.5e16, -3e16}),
       "[ 1.0e+16  2.5e+16 -3.0e+16]"},
      {"np.array([1.5e-05, 123.25, 0])", show<double>(F{1.5e-05, 123.25, 0}),
       "[1.5000e-05 1.2325e+02 0.0000e+00]"},
      {"np.array([1e100, 1e-100])", show<double>(F{1e100, 1e-100}),
       "[1.e+100 1.e-100]"},
      {"np.array([1/3, 1e-9, -2/3])", show<double>(F{1.0 / 3, 1e-9, -2.0 / 3}),
       "[ 3.33333333e-01  1.00000000e-09 -6.66666667e-01]"},
      {"np.array([1e-05, nan, -inf])", show<double>(F{1e-05, nan, -inf}),
       "[1.e-05    nan   -inf]"},
  });
}

TEST_CASE("non-finite float64 arrays") {
  check({
      {"np.array([nan, 1, inf, -inf])", show<double>(F{nan, 1, inf, -inf}),
       "[ nan   1.  inf -inf]"},
      {"np.array([nan, inf])", show<double>(F{nan, inf}),
       "[nan inf]"},
      {"np.array([nan, -inf])", show<double>(F{nan, -inf}),
       "[ nan -inf]"},
      {"np.array([0.5, 0.25, -inf])", show<double>(F{0.5, 0.25, -inf}),
       "[0.5  0.25 -inf]"},
      {"np.array([nan])", show<double>(F{nan}),
       "[nan]"},
  });
}

TEST_CASE("float32 arrays") {
  check({
      {"np.array([0.1, 0.2, 0.3], dtype=np.float32)", show<float>(F{0.1, 0.2, 0.3}),
       "[0.1 0.2 0.3]"},
      {"np.array([1/3, 2/3], dtype=np.float32)", show<float>(F{1.0 / 3, 2.0 / 3}),
       "[0.33333334 0.6666667 ]"},
      {"np.array([92807872.0, 45035580.0], dtype=np.float32)", show<float>(F{92807872.0, 45035580.0}),
       "[92807872. 45035580.]"},
      {"np.array([1e-4, 1], dtype=np.float32)", show<float>(F{1e-4, 1}),
       "[1.e-04 1.e+00]"},
      {"np.array([0.1, 1.5e-5], dtype=np.float32)", show<float>(F{0.1, 1.5e-5}),
       "[1.0e-01 1.5e-05]"},
      {"np.array([0.3, 3.4280804e-06], dtype=np.float32)", show<float>(F{0.3, 3.4280804e-06}),
       "[3.0000001e-01 3.4280804e-06]"},
      {"np.array([1e30, -inf, nan], dtype=np.float32)", show<float>(F{1e30, -inf, nan}),
       "[1.e+30   -inf    nan]"},
  });
}

TEST_CASE("integer arrays") {
  check({
      {"np.array([1, -20, 3])", show<int64_t>(I{1, -20, 3}),
       "[  1 -20   3]"},
      {"np.array([5])", show<int64_t>(I{5}),
       "[5]"},
      {"np.array([-2**63, 0, 2**63 - 1])", show<int64_t>(I{std::numeric_limits<int64_t>::min(), 0, std::numeric_limits<int64_t>::max()}),
       "[-9223372036854775808                    0  9223372036854775807]"},
      {"np.array([2147483647, -2147483648, 0], dtype=np.int32)", show<int32_t>(I{2147483647, -2147483648LL, 0}),
       "[ 2147483647 -2147483648           0]"},
      {"np.array([7, 8, 9], dtype=np.int32)", show<int32_t>(I{7, 8, 9}),
       "[7 8 9]"},
  });
}

TEST_CASE("bool arrays") {
  check({
      {"np.array([True, False])", show<bool>(B{true, false}),
       "[ True False]"},
      {"np.array([False])", show<bool>(B{false}),
       "[False]"},
      {"np.array([[True, True], [False, True]])", show<bool>(B{true, true, false, true}, {2, 2}),
       "[[ True  True]\n"
         " [False  True]]"},
  });
}

TEST_CASE("empty arrays") {
  check({
      {"np.array([], dtype=np.float64)", show<double>(F{}),
       "[]"},
      {"np.array([], dtype=np.int32)", show<int32_t>(I{}),
       "[]"},
      {"np.array([], dtype=np.bool_)", show<bool>(B{}),
       "[]"},
      {"np.zeros((0, 3))", show<double>(F{}, {0, 3}),
       "[]"},
      {"np.zeros((3, 0), dtype=np.int64)", show<int64_t>(I{}, {3, 0}),
       "[]"},
  });
}

TEST_CASE("2-D arrays") {
  check({
      {"np.array([[1, 2], [3, 4]])", show<int64_t>(I{1, 2, 3, 4}, {2, 2}),
       "[[1 2]\n"
         " [3 4]]"},
      {"np.array([[1.5, nan, -2], [0, 10, 1e-3]])", show<double>(F{1.5, nan, -2, 0, 10, 1e-3}, {2, 3}),
       "[[ 1.5e+00      nan -2.0e+00]\n"
         " [ 0.0e+00  1.0e+01  1.0e-03]]"},
      {"np.array([[1e-6, 1]])", show<double>(F{1e-6, 1}, {1, 2}),
       "[[1.e-06 1.e+00]]"},
      {"np.array([[1], [-22], [333]], dtype=np.int32)", show<int32_t>(I{1, -22, 333}, {3, 1}),
       "[[  1]\n"
         " [-22]\n"
         " [333]]"},
      {"np.array([[0.1, 0.2], [0.3, 0.4]], dtype=np.float32)", show<float>(F{0.1, 0.2, 0.3, 0.4}, {2, 2}),
       "[[0.1 0.2]\n"
         " [0.3 0.4]]"},
      {"np.arange(6.).reshape(3, 2).T", show_strided<double>(F{0, 1, 2, 3, 4, 5}, {2, 3}, {1, 2}),
       "[[0. 2. 4.]\n"
         " [1. 3. 5.]]"},
  });
}

TEST_CASE("summarised arrays") {
  check({
      {"np.arange(2000) * 0.5", show<double>(ramp(2000, 0.5)),
       "[0.000e+00 5.000e-01 1.000e+00 ... 9.985e+02 9.990e+02 9.995e+02]"},
      {"np.arange(2000, dtype=np.int64) * 3", show<int64_t>(ramp_int(2000, 3)),
       "[   0    3    6 ... 5991 5994 5997]"},
      {"np.arange(1001, dtype=np.int32) - 500", show<int32_t>(ramp_int(1001, 1, -500)),
       "[-500 -499 -498 ...  498  499  500]"},
      {"np.arange(1000, dtype=np.int64)", show<int64_t>(ramp_int(1000, 1)),
       "[  0   1   2   3   4   5   6   7   8   9  10  11  12  13  14  15  16  17\n"
         "  18  19  20  21  22  23  24  25  26  27  28  29  30  31  32  33  34  35\n"
         "  36  37  38  39  40  41  42  43  44  45  46  47  48  49  50  51  52  53\n"
         "  54  55  56  57  58  59  60  61  62  63  64  65  66  67  68  69  70  71\n"
         "  72  73  74  75  76  77  78  79  80  81  82  83  84  85  86  87  88  89\n"
         "  90  91  92  93  94  95  96  97  98  99 100 101 102 103 104 105 106 107\n"
         " 108 109 110 111 112 113 114 115 116 117 118 119 120 121 122 123 124 125\n"
         " 126 127 128 129 130 131 132 133 134 135 136 137 138 139 140 141 142 143\n"
         " 144 145 146 147 148 149 150 151 152 153 154 155 156 157 158 159 160 161\n"
         " 162 163 164 165 166 167 168 169 170 171 172 173 174 175 176 177 178 179\n"
         " 180 181 182 183 184 185 186 187 188 189 190 191 192 193 194 195 196 197\n"
         " 198 199 200 201 202 203 204 205 206 207 208 209 210 211 212 213 214 215\n"
         " 216 217 218 219 220 221 222 223 224 225 226 227 228 229 230 231 232 233\n"
         " 234 235 236 237 238 239 240 241 242 243 244 245 246 247 248 249 250 251\n"
         " 252 253 254 255 256 257 258 259 260 261 262 263 264 265 266 267 268 269\n"
         " 270 271 272 273 274 275 276 277 278 279 280 281 282 283 284 285 286 287\n"
         " 288 289 290 291 292 293 294 295 296 297 298 299 300 301 302 303 304 305\n"
         " 306 307 308 309 310 311 312 313 314 315 316 317 318 319 320 321 322 323\n"
         " 324 325 326 327 328 329 330 331 332 333 334 335 336 337 338 339 340 341\n"
         " 342 343 344 345 346 347 348 349 350 351 352 353 354 355 356 357 358 359\n"
         " 360 361 362 363 364 365 366 367 368 369 370 371 372 373 374 375 376 377\n"
         " 378 379 380 381 382 383 384 385 386 387 388 389 390 391 392 393 394 395\n"
         " 396 397 398 399 400 401 402 403 404 405 406 407 408 409 410 411 412 413\n"
         " 414 415 416 417 418 419 420 421 422 423 424 425 426 427 428 429 430 431\n"
         " 432 433 434 435 436 437 438 439 440 441 442 443 444 445 446 447 448 449\n"
         " 450 451 452 453 454 455 456 457 458 459 460 461 462 463 464 465 466 467\n"
         " 468 469 470 471 472 473 474 475 476 477 478 479 480 481 482 483 484 485\n"
         " 486 487 488 489 490 491 492 493 494 495 496 497 498 499 500 501 502 503\n"
         " 504 505 506 507 508 509 510 511 512 513 514 515 516 517 518 519 520 521\n"
         " 522 523 524 525 526 527 528 529 530 531 532 533 534 535 536 537 538 539\n"
         " 540 541 542 543 544 545 546 547 548 549 550 551 552 553 554 555 556 557\n"
         " 558 559 560 561 562 563 564 565 566 567 568 569 570 571 572 573 574 575\n"
         " 576 577 578 579 580 581 582 583 584 585 586 587 588 589 590 591 592 593\n"
         " 594 595 596 597 598 599 600 601 602 603 604 605 606 607 608 609 610 611\n"
         " 612 613 614 615 616 617 618 619 620 621 622 623 624 625 626 627 628 629\n"
         " 630 631 632 633 634 635 636 637 638 639 640 641 642 643 644 645 646 647\n"
         " 648 649 650 651 652 653 654 655 656 657 658 659 660 661 662 663 664 665\n"
         " 666 667 668 669 670 671 672 673 674 675 676 677 678 679 680 681 682 683\n"
         " 684 685 686 687 688 689 690 691 692 693 694 695 696 697 698 699 700 701\n"
         " 702 703 704 705 706 707 708 709 710 711 712 713 714 715 716 717 718 719\n"
         " 720 721 722 723 724 725 726 727 728 729 730 731 732 733 734 735 736 737\n"
         " 738 739 740 741 742 743 744 745 746 747 748 749 750 751 752 753 754 755\n"
         " 756 757 758 759 760 761 762 763 764 765 766 767 768 769 770 771 772 773\n"
         " 774 775 776 777 778 779 780 781 782 783 784 785 786 787 788 789 790 791\n"
         " 792 793 794 795 796 797 798 799 800 801 802 803 804 805 806 807 808 809\n"
         " 810 811 812 813 814 815 816 817 818 819 820 821 822 823 824 825 826 827\n"
         " 828 829 830 831 832 833 834 835 836 837 838 839 840 841 842 843 844 845\n"
         " 846 847 848 849 850 851 852 853 854 855 856 857 858 859 860 861 862 863\n"
         " 864 865 866 867 868 869 870 871 872 873 874 875 876 877 878 879 880 881\n"
         " 882 883 884 885 886 887 888 889 890 891 892 893 894 895 896 897 898 899\n"
         " 900 901 902 903 904 905 906 907 908 909 910 911 912 913 914 915 916 917\n"
         " 918 919 920 921 922 923 924 925 926 927 928 929 930 931 932 933 934 935\n"
         " 936 937 938 939 940 941 942 943 944 945 946 947 948 949 950 951 952 953\n"
         " 954 955 956 957 958 959 960 961 962 963 964 965 966 967 968 969 970 971\n"
         " 972 973 974 975 976 977 978 979 980 981 982 983 984 985 986 987 988 989\n"
         " 990 991 992 993 994 995 996 997 998 999]"},
      {"(np.arange(1001) / 3).astype(np.float32)", show<float>(ramp(1001, 1, 3)),
       "[  0.           0.33333334   0.6666667  ... 332.66666    333.\n"
         " 333.33334   ]"},
      {"np.arange(2000) % 3 == 0", show<bool>(every_third(2000)),
       "[ True False False ... False  True False]"},
      {"np.arange(10000, dtype=np.int64).reshape(100, 100)", show<int64_t>(ramp_int(10000, 1), {100, 100}),
       "[[   0    1    2 ...   97   98   99]\n"
         " [ 100  101  102 ...  197  198  199]\n"
         " [ 200  201  202 ...  297  298  299]\n"
         " ...\n"
         " [9700 9701 9702 ... 9797 9798 9799]\n"
         " [9800 9801 9802 ... 9897 9898 9899]\n"
         " [9900 9901 9902 ... 9997 9998 9999]]"},
      {"(np.arange(10000) / 7).reshape(100, 100)", show<double>(ramp(10000, 1, 7), {100, 100}),
       "[[0.00000000e+00 1.42857143e-01 2.85714286e-01 ... 1.38571429e+01\n"
         "  1.40000000e+01 1.41428571e+01]\n"
         " [1.42857143e+01 1.44285714e+01 1.45714286e+01 ... 2.81428571e+01\n"
         "  2.82857143e+01 2.84285714e+01]\n"
         " [2.85714286e+01 2.87142857e+01 2.88571429e+01 ... 4.24285714e+01\n"
         "  4.25714286e+01 4.27142857e+01]\n"
         " ...\n"
         " [1.38571429e+03 1.38585714e+03 1.38600000e+03 ... 1.39957143e+03\n"
         "  1.39971429e+03 1.39985714e+03]\n"
         " [1.40000000e+03 1.40014286e+03 1.40028571e+03 ... 1.41385714e+03\n"
         "  1.41400000e+03 1.41414286e+03]\n"
         " [1.41428571e+03 1.41442857e+03 1.41457143e+03 ... 1.42814286e+03\n"
         "  1.42828571e+03 1.42842857e+03]]"},
      {"np.arange(1200, dtype=np.int64).reshape(2, 600)", show<int64_t>(ramp_int(1200, 1), {2, 600}),
       "[[   0    1    2 ...  597  598  599]\n"
         " [ 600  601  602 ... 1197 1198 1199]]"},
      {"np.arange(1200, dtype=np.int64).reshape(600, 2)", show<int64_t>(ramp_int(1200, 1), {600, 2}),
       "[[   0    1]\n"
         " [   2    3]\n"
         " [   4    5]\n"
         " ...\n"
         " [1194 1195]\n"
         " [1196 1197]\n"
         " [1198 1199]]"},
      {"(np.arange(2000) % 3 == 0).reshape(40, 50)", show<bool>(every_third(2000), {40, 50}),
       "[[ True False False ... False  True False]\n"
         " [False  True False ... False False  True]\n"
         " [False False  True ...  True False False]\n"
         " ...\n"
         " [False  True False ... False False  True]\n"
         " [False False  True ...  True False False]\n"
         " [ True False False ... False  True False]]"},
  });
}

TEST_CASE("line wrapping") {
  check({
      {"np.array([i * i / 7 for i in range(30)])", show<double>(squares_over_7(30)),
       "[  0.           0.14285714   0.57142857   1.28571429   2.28571429\n"
         "   3.57142857   5.14285714   7.           9.14285714  11.57142857\n"
         "  14.28571429  17.28571429  20.57142857  24.14285714  28.\n"
         "  32.14285714  36.57142857  41.28571429  46.28571429  51.57142857\n"
         "  57.14285714  63.          69.14285714  75.57142857  82.28571429\n"
         "  89.28571429  96.57142857 104.14285714 112.         120.14285714]"},
      {"(np.arange(90) / 7).reshape(3, 30)", show<double>(ramp(90, 1, 7), {3, 30}),
       "[[ 0.          0.14285714  0.28571429  0.42857143  0.57142857  0.71428571\n"
         "   0.85714286  1.          1.14285714  1.28571429  1.42857143  1.57142857\n"
         "   1.71428571  1.85714286  2.          2.14285714  2.28571429  2.42857143\n"
         "   2.57142857  2.71428571  2.85714286  3.          3.14285714  3.28571429\n"
         "   3.42857143  3.57142857  3.71428571  3.85714286  4.          4.14285714]\n"
         " [ 4.28571429  4.42857143  4.57142857  4.71428571  4.85714286  5.\n"
         "   5.14285714  5.28571429  5.42857143  5.57142857  5.71428571  5.85714286\n"
         "   6.          6.14285714  6.28571429  6.42857143  6.57142857  6.71428571\n"
         "   6.85714286  7.          7.14285714  7.28571429  7.42857143  7.57142857\n"
         "   7.71428571  7.85714286  8.          8.14285714  8.28571429  8.42857143]\n"
         " [ 8.57142857  8.71428571  8.85714286  9.          9.14285714  9.28571429\n"
         "   9.42857143  9.57142857  9.71428571  9.85714286 10.         10.14285714\n"
         "  10.28571429 10.42857143 10.57142857 10.71428571 10.85714286 11.\n"
         "  11.14285714 11.28571429 11.42857143 11.57142857 11.71428571 11.85714286\n"
         "  12.         12.14285714 12.28571429 12.42857143 12.57142857 12.71428571]]"},
      {"np.arange(40, dtype=np.int64) * 12345", show<int64_t>(ramp_int(40, 12345)),
       "[     0  12345  24690  37035  49380  61725  74070  86415  98760 111105\n"
         " 123450 135795 148140 160485 172830 185175 197520 209865 222210 234555\n"
         " 246900 259245 271590 283935 296280 308625 320970 333315 345660 358005\n"
         " 370350 382695 395040 407385 419730 432075 444420 456765 469110 481455]"},
      {"np.arange(30) % 3 == 0", show<bool>(every_third(30)),
       "[ True False False  True False False  True False False  True False False\n"
         "  True False False  True False False  True False False  True False False\n"
         "  True False False  True False False]"},
      {"np.arange(30) * 1e-5", show<double>(ramp(30, 1e-5)),
       "[0.0e+00 1.0e-05 2.0e-05 3.0e-05 4.0e-05 5.0e-05 6.0e-05 7.0e-05 8.0e-05\n"
         " 9.0e-05 1.0e-04 1.1e-04 1.2e-04 1.3e-04 1.4e-04 1.5e-04 1.6e-04 1.7e-04\n"
         " 1.8e-04 1.9e-04 2.0e-04 2.1e-04 2.2e-04 2.3e-04 2.4e-04 2.5e-04 2.6e-04\n"
         " 2.7e-04 2.8e-04 2.9e-04]"},
      {"np.array([1e-300, 1e300] * 8)", show<double>(repeat(F{1e-300, 1e300}, 8)),
       "[1.e-300 1.e+300 1.e-300 1.e+300 1.e-300 1.e+300 1.e-300 1.e+300 1.e-300\n"
         " 1.e+300 1.e-300 1.e+300 1.e-300 1.e+300 1.e-300 1.e+300]"},
  });
}
}  // TEST_SUITE("format")
