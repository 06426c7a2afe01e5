"""Explanation methods.

The CAM family, perturbation and pixel methods, Dense Attention and Hessian-CIAM.
"""
